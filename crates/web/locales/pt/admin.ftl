# Páginas de administração: perfis, dados mestres, limites, campanhas, auditoria, painel.
admin-dashboard-link = Painel
admin-read-only = Pode ver os perfis, mas não alterá-los.
admin-edit = Editar
admin-save = Guardar
admin-search = Pesquisar
admin-choose = Escolha…
admin-filters = Filtros
admin-form-has-errors = Corrija os campos assinalados abaixo.
admin-col-code = Código
admin-col-name = Nome
admin-col-label = Designação
admin-col-actions = Ações
admin-col-kind = Tipo
admin-col-level = Nível
admin-col-type = Tipo
admin-col-dates = Datas
admin-col-boundaries = Limites
admin-col-row = Linha
admin-col-column = Coluna
admin-col-message = Problema
admin-col-time = Hora
admin-col-actor = Quem
admin-col-action = Ação
admin-col-target = Alvo
admin-col-outcome = Resultado
admin-col-campaign = Campanha
admin-col-province = Província
admin-description = Descrição
admin-start-date = Data de início
admin-end-date = Data de fim
admin-from = De
admin-to = Até

admin-roles-title = Perfis
admin-role-new = Novo perfil
admin-role-edit = Editar perfil
admin-back-roles = Voltar aos perfis
admin-builtin = Incorporado
admin-field-role-badge = Campo
admin-field-role = Perfil de trabalhadores de campo
admin-field-role-hint = Quem tem um perfil de campo segue regras de palavra-passe mais simples.
admin-role-code-hint = Maiúsculas, algarismos e _ (por exemplo DATA_CLERK). Não pode ser alterado depois.
admin-role-saved = Perfil { $code } guardado.

admin-group-user = Utilizadores
admin-group-role = Perfis
admin-group-boundary = Limites
admin-group-campaign = Campanhas
admin-group-master-data = Dados mestres
admin-group-audit = Registo de auditoria
admin-group-bulk = Operações em massa
admin-group-field = Aplicação da campanha
admin-action-user-read = Ver e pesquisar os utilizadores da sua área
admin-action-user-create = Criar contas de utilizador
admin-action-user-update = Editar dados pessoais e administrativos, perfis e jurisdições
admin-action-user-deactivate = Desativar e reativar utilizadores
admin-action-user-credentials = Definir, gerar ou enviar credenciais
admin-action-user-sessions = Terminar as sessões de um utilizador e desbloquear o acesso
admin-action-user-assign = Atribuir utilizadores a campanhas e limites
admin-action-user-replace = Substituir um trabalhador por outro
admin-action-user-export = Exportar listas de utilizadores
admin-action-role-read = Ver os perfis e as suas ações
admin-action-role-manage = Criar e editar perfis
admin-action-boundary-read = Percorrer a hierarquia de limites
admin-action-boundary-manage = Criar e importar limites
admin-action-campaign-read = Ver campanhas
admin-action-campaign-manage = Criar e editar campanhas
admin-action-master-data-manage = Editar as listas de dados mestres
admin-action-audit-read = Ler o registo de auditoria
admin-action-bulk-run = Executar operações em massa a partir de folhas de cálculo
admin-action-field-registration = Registar agregados familiares na aplicação da campanha
admin-action-field-distribution = Registar distribuições na aplicação da campanha
admin-action-field-supervision = Supervisionar uma equipa de campo na aplicação da campanha

admin-master-data-title = Dados mestres
admin-master-data-hint = Cada lista é guardada separadamente. As linhas vazias são ignoradas; apague o código e a designação de uma linha para a remover.
admin-list-genders = Géneros
admin-list-employment-types = Tipos de vínculo
admin-list-departments = Departamentos
admin-list-deactivation-reasons = Motivos de desativação
admin-list-reactivation-reasons = Motivos de reativação
admin-list-campaign-types = Tipos de campanha
admin-list-boundary-levels = Níveis de limites
admin-list-saved = Lista guardada.
admin-list-save = Guardar lista
admin-list-rows-hint = Use as linhas vazias no fim para acrescentar itens.

admin-boundaries-title = Limites
admin-breadcrumbs = Onde está
admin-boundaries-roots = Nível superior
admin-boundaries-children = Dentro de
admin-boundaries-results = Resultados da pesquisa
admin-boundaries-search = Pesquisar por nome
admin-boundaries-count = { $count ->
    [0] Nenhum limite
    [one] Um limite
   *[other] { $count } limites
}
admin-import-title = Importar limites
admin-import-file = Ficheiro CSV
admin-import-hint = Colunas code, name, level, parent_code; a primeira linha indica os seus nomes.
admin-import-submit = Importar
admin-import-no-file = Escolha um ficheiro CSV para importar.
admin-import-errors = Linhas não importadas
admin-import-summary = { $total } linhas lidas: { $created } criadas, { $updated } atualizadas, { $unchanged } sem alterações, { $failed } com erros.

admin-campaigns-title = Campanhas
admin-campaign-new = Nova campanha
admin-campaign-create = Criar campanha
admin-back-campaigns = Voltar às campanhas
admin-campaigns-count = { $count ->
    [0] Nenhuma campanha
    [one] Uma campanha
   *[other] { $count } campanhas
}
admin-campaign-code-hint = Letras, algarismos, - e _ (por exemplo LLIN-2026). Não pode ser alterado depois.
admin-campaign-parent = Faz parte da campanha
admin-campaign-no-parent = Nenhuma
admin-campaign-boundaries-hint = Códigos de limites, separados por vírgulas ou espaços (por exemplo TETE, NIASSA).
admin-coverage-title = Cobertura
admin-coverage-hint = Locais de prestação de serviço desta campanha na sua área sem ninguém atribuído hoje.
admin-uncovered-count = { $count ->
    [0] Todos os locais estão cobertos.
    [one] Um local não tem ninguém atribuído.
   *[other] { $count } locais não têm ninguém atribuído.
}
admin-coverage-more = Apenas os primeiros 100 são listados.

admin-audit-title = Registo de auditoria
admin-audit-action-hint = Por exemplo user.update, ou user.* para todas as ações sobre utilizadores.
admin-audit-count = { $count ->
    [0] Nenhum evento
    [one] Um evento
   *[other] { $count } eventos
}
admin-outcome-success = Sucesso
admin-outcome-failure = Falhou
admin-outcome-denied = Recusado

admin-dashboard-title = Painel
admin-dashboard-nothing = Não há nada para mostrar com as suas permissões.
admin-chart-users-by-campaign = Utilizadores ativos por campanha
admin-chart-users-by-province = Utilizadores ativos por província
admin-chart-uncovered = Locais sem ninguém atribuído, por campanha
admin-chart-empty = Ainda não há dados.
admin-chart-data = Tabela de dados
admin-chart-count = Número

admin-err-invalid-code = Este código não é válido: use letras, algarismos e os caracteres permitidos aqui.
admin-err-duplicate-code = Este código já está a ser usado.
admin-err-invalid-length = Este campo é obrigatório e não pode ser demasiado longo.
admin-err-required = Este campo é obrigatório.
admin-err-unknown-action = Esta ação não existe.
admin-err-unknown-value = Escolha um dos valores propostos.
admin-err-invalid-date = Introduza uma data no formato AAAA-MM-DD.
admin-err-date-order = A data de fim é anterior à data de início.
admin-err-unknown-boundary = Este limite não existe.
admin-err-outside-scope = Este limite está fora da sua área.
admin-err-unknown-campaign = Esta campanha não existe.
admin-err-outside-parent-window = As datas têm de estar dentro das datas da campanha principal.
admin-err-outside-parent = Este limite não está coberto pela campanha principal.
admin-err-cycle = Um elemento principal não pode estar dentro do seu próprio subordinado.
admin-err-level-order = Este nível não pode estar dentro do nível do seu elemento principal.
admin-err-parent-failed = Não foi possível importar o limite superior.
admin-err-parent-change = Este limite já existe sob outro limite superior; não é possível mover limites.
admin-err-missing-columns = A primeira linha tem de indicar as colunas code, name, level e parent_code.
admin-err-escalation = Não pode atribuir ações que não tem.

# campaign edit page
admin-campaign-edit = Editar campanha
admin-campaign-save = Guardar alterações
admin-campaign-cancel = Cancelar
admin-campaign-stale = Outra pessoa alterou esta campanha depois de abrir esta página. Verifique os valores e guarde de novo para substituir as alterações dela.
