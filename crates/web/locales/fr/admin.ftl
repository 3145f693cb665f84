# Pages d'administration : rôles, données de référence, limites, campagnes, journal, tableau de bord.
admin-dashboard-link = Tableau de bord
admin-read-only = Vous pouvez consulter les rôles mais pas les modifier.
admin-edit = Modifier
admin-save = Enregistrer
admin-search = Rechercher
admin-choose = Choisir…
admin-filters = Filtres
admin-form-has-errors = Veuillez corriger les champs signalés ci-dessous.
admin-col-code = Code
admin-col-name = Nom
admin-col-label = Libellé
admin-col-actions = Actions
admin-col-kind = Type
admin-col-level = Niveau
admin-col-type = Type
admin-col-dates = Dates
admin-col-boundaries = Limites
admin-col-row = Ligne
admin-col-column = Colonne
admin-col-message = Problème
admin-col-time = Heure
admin-col-actor = Qui
admin-col-action = Action
admin-col-target = Cible
admin-col-outcome = Résultat
admin-col-campaign = Campagne
admin-col-province = Province
admin-description = Description
admin-start-date = Date de début
admin-end-date = Date de fin
admin-from = Du
admin-to = Au

admin-roles-title = Rôles
admin-role-new = Nouveau rôle
admin-role-edit = Modifier le rôle
admin-back-roles = Retour aux rôles
admin-builtin = Intégré
admin-field-role-badge = Terrain
admin-field-role = Rôle d'agents de terrain
admin-field-role-hint = Les personnes ayant un rôle de terrain suivent des règles de mot de passe plus simples.
admin-role-code-hint = Majuscules, chiffres et _ (par exemple DATA_CLERK). Il ne pourra plus être modifié.
admin-role-saved = Rôle { $code } enregistré.

admin-group-user = Utilisateurs
admin-group-role = Rôles
admin-group-boundary = Limites
admin-group-campaign = Campagnes
admin-group-master-data = Données de référence
admin-group-audit = Journal d'audit
admin-group-bulk = Traitements en masse
admin-group-field = Application de campagne
admin-action-user-read = Voir et rechercher les utilisateurs de sa zone
admin-action-user-create = Créer des comptes utilisateur
admin-action-user-update = Modifier les données personnelles et administratives, les rôles et les juridictions
admin-action-user-deactivate = Désactiver et réactiver des utilisateurs
admin-action-user-credentials = Définir, générer ou envoyer des identifiants
admin-action-user-sessions = Fermer les sessions d'un utilisateur et débloquer sa connexion
admin-action-user-assign = Affecter des utilisateurs à des campagnes et des limites
admin-action-user-replace = Remplacer un agent par un autre
admin-action-user-export = Exporter des listes d'utilisateurs
admin-action-role-read = Voir les rôles et leurs actions
admin-action-role-manage = Créer et modifier des rôles
admin-action-boundary-read = Parcourir la hiérarchie des limites
admin-action-boundary-manage = Créer et importer des limites
admin-action-campaign-read = Voir les campagnes
admin-action-campaign-manage = Créer et modifier des campagnes
admin-action-master-data-manage = Modifier les listes de données de référence
admin-action-audit-read = Consulter le journal d'audit
admin-action-bulk-run = Lancer des traitements en masse à partir de tableurs
admin-action-field-registration = Enregistrer des ménages dans l'application de campagne
admin-action-field-distribution = Enregistrer des distributions dans l'application de campagne
admin-action-field-supervision = Superviser une équipe de terrain dans l'application de campagne

admin-master-data-title = Données de référence
admin-master-data-hint = Chaque liste s'enregistre séparément. Les lignes vides sont ignorées ; effacez le code et le libellé d'une ligne pour la supprimer.
admin-list-genders = Genres
admin-list-employment-types = Types d'emploi
admin-list-departments = Services
admin-list-deactivation-reasons = Motifs de désactivation
admin-list-reactivation-reasons = Motifs de réactivation
admin-list-campaign-types = Types de campagne
admin-list-boundary-levels = Niveaux de limites
admin-list-saved = Liste enregistrée.
admin-list-save = Enregistrer la liste
admin-list-rows-hint = Utilisez les lignes vides à la fin pour ajouter des éléments.

admin-boundaries-title = Limites
admin-breadcrumbs = Où vous êtes
admin-boundaries-roots = Premier niveau
admin-boundaries-children = À l'intérieur
admin-boundaries-results = Résultats de la recherche
admin-boundaries-search = Rechercher par nom
admin-boundaries-count = { $count ->
    [0] Aucune limite
    [one] Une limite
   *[other] { $count } limites
}
admin-import-title = Importer des limites
admin-import-file = Fichier CSV
admin-import-hint = Colonnes code, name, level, parent_code ; la première ligne les nomme.
admin-import-submit = Importer
admin-import-no-file = Choisissez un fichier CSV à importer.
admin-import-errors = Lignes non importées
admin-import-summary = { $total } lignes lues : { $created } créées, { $updated } mises à jour, { $unchanged } inchangées, { $failed } en erreur.

admin-campaigns-title = Campagnes
admin-campaign-new = Nouvelle campagne
admin-campaign-create = Créer la campagne
admin-back-campaigns = Retour aux campagnes
admin-campaigns-count = { $count ->
    [0] Aucune campagne
    [one] Une campagne
   *[other] { $count } campagnes
}
admin-campaign-code-hint = Lettres, chiffres, - et _ (par exemple LLIN-2026). Il ne pourra plus être modifié.
admin-campaign-parent = Fait partie de la campagne
admin-campaign-no-parent = Aucune
admin-campaign-boundaries-hint = Codes de limites, séparés par des virgules ou des espaces (par exemple TETE, NIASSA).
admin-coverage-title = Couverture
admin-coverage-hint = Lieux de prestation de cette campagne dans votre zone où personne n'est affecté aujourd'hui.
admin-uncovered-count = { $count ->
    [0] Tous les lieux sont couverts.
    [one] Un lieu n'a personne d'affecté.
   *[other] { $count } lieux n'ont personne d'affecté.
}
admin-coverage-more = Seuls les 100 premiers sont affichés.

admin-audit-title = Journal d'audit
admin-audit-action-hint = Par exemple user.update, ou user.* pour toutes les actions sur les utilisateurs.
admin-audit-count = { $count ->
    [0] Aucun événement
    [one] Un événement
   *[other] { $count } événements
}
admin-outcome-success = Réussi
admin-outcome-failure = Échec
admin-outcome-denied = Refusé

admin-dashboard-title = Tableau de bord
admin-dashboard-nothing = Rien à afficher avec vos autorisations.
admin-chart-users-by-campaign = Utilisateurs actifs par campagne
admin-chart-users-by-province = Utilisateurs actifs par province
admin-chart-uncovered = Lieux sans personne d'affecté, par campagne
admin-chart-empty = Pas encore de données.
admin-chart-data = Tableau des données
admin-chart-count = Nombre

admin-err-invalid-code = Ce code n'est pas valide : utilisez des lettres, des chiffres et les caractères autorisés ici.
admin-err-duplicate-code = Ce code est déjà utilisé.
admin-err-invalid-length = Ce champ est obligatoire et ne doit pas être trop long.
admin-err-required = Ce champ est obligatoire.
admin-err-unknown-action = Cette action n'existe pas.
admin-err-unknown-value = Choisissez l'une des valeurs proposées.
admin-err-invalid-date = Saisissez une date au format AAAA-MM-JJ.
admin-err-date-order = La date de fin précède la date de début.
admin-err-unknown-boundary = Cette limite n'existe pas.
admin-err-outside-scope = Cette limite est hors de votre zone.
admin-err-unknown-campaign = Cette campagne n'existe pas.
admin-err-outside-parent-window = Les dates doivent être comprises dans celles de la campagne parente.
admin-err-outside-parent = Cette limite n'est pas couverte par la campagne parente.
admin-err-cycle = Un parent ne peut pas se trouver sous son propre enfant.
admin-err-level-order = Ce niveau ne peut pas se trouver sous le niveau de son parent.
admin-err-parent-failed = Sa limite parente n'a pas pu être importée.
admin-err-parent-change = Cette limite existe déjà sous un autre parent ; le déplacement de limites n'est pas pris en charge.
admin-err-missing-columns = La première ligne doit nommer les colonnes code, name, level et parent_code.
admin-err-escalation = Vous ne pouvez pas attribuer des actions que vous ne détenez pas vous-même.

# campaign edit page
admin-campaign-edit = Modifier la campagne
admin-campaign-save = Enregistrer les modifications
admin-campaign-cancel = Annuler
admin-campaign-stale = Quelqu’un a modifié cette campagne après l’ouverture de cette page. Vérifiez les valeurs et enregistrez à nouveau pour remplacer ses modifications.
