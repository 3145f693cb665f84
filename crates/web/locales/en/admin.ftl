# Administration pages: roles, master data, boundaries, campaigns, audit, dashboard.
admin-dashboard-link = Dashboard
admin-read-only = You can see the roles but not change them.
admin-edit = Edit
admin-save = Save
admin-search = Search
admin-choose = Choose…
admin-filters = Filters
admin-form-has-errors = Please correct the fields marked below.
admin-col-code = Code
admin-col-name = Name
admin-col-label = Label
admin-col-actions = Actions
admin-col-kind = Kind
admin-col-level = Level
admin-col-type = Type
admin-col-dates = Dates
admin-col-boundaries = Boundaries
admin-col-row = Row
admin-col-column = Column
admin-col-message = Problem
admin-col-time = Time
admin-col-actor = Who
admin-col-action = Action
admin-col-target = Target
admin-col-outcome = Outcome
admin-col-campaign = Campaign
admin-col-province = Province
admin-description = Description
admin-start-date = Start date
admin-end-date = End date
admin-from = From
admin-to = To

admin-roles-title = Roles
admin-role-new = New role
admin-role-edit = Edit role
admin-back-roles = Back to roles
admin-builtin = Built in
admin-field-role-badge = Field
admin-field-role = Field workers' role
admin-field-role-hint = People with a field role get the simpler password rules.
admin-role-code-hint = Capital letters, digits and _ (for example DATA_CLERK). It cannot be changed later.
admin-role-saved = Role { $code } saved.

admin-group-user = Users
admin-group-role = Roles
admin-group-boundary = Boundaries
admin-group-campaign = Campaigns
admin-group-master-data = Master data
admin-group-audit = Audit log
admin-group-bulk = Bulk jobs
admin-group-field = Campaign app
admin-action-user-read = See and search the users in one's area
admin-action-user-create = Create user accounts
admin-action-user-update = Edit personal and administrative data, roles and jurisdictions
admin-action-user-deactivate = Deactivate and reactivate users
admin-action-user-credentials = Set, generate or send credentials
admin-action-user-sessions = End a user's sessions and unlock sign-in
admin-action-user-assign = Assign users to campaigns and boundaries
admin-action-user-replace = Replace a worker with another
admin-action-user-export = Export user lists
admin-action-role-read = See roles and their actions
admin-action-role-manage = Create and edit roles
admin-action-boundary-read = Browse the boundary hierarchy
admin-action-boundary-manage = Create and import boundaries
admin-action-campaign-read = See campaigns
admin-action-campaign-manage = Create and edit campaigns
admin-action-master-data-manage = Edit master data lists
admin-action-audit-read = Read the audit log
admin-action-bulk-run = Run bulk jobs from spreadsheets
admin-action-field-registration = Register households in the campaign app
admin-action-field-distribution = Record distributions in the campaign app
admin-action-field-supervision = Supervise a field team in the campaign app

admin-master-data-title = Master data
admin-master-data-hint = Each list is saved on its own. Empty rows are ignored; clear a row's code and label to remove it.
admin-list-genders = Genders
admin-list-employment-types = Employment types
admin-list-departments = Departments
admin-list-deactivation-reasons = Deactivation reasons
admin-list-reactivation-reasons = Reactivation reasons
admin-list-campaign-types = Campaign types
admin-list-boundary-levels = Boundary levels
admin-list-saved = List saved.
admin-list-save = Save list
admin-list-rows-hint = Use the empty rows at the end to add items.

admin-boundaries-title = Boundaries
admin-breadcrumbs = Where you are
admin-boundaries-roots = Top level
admin-boundaries-children = Inside
admin-boundaries-results = Search results
admin-boundaries-search = Search by name
admin-boundaries-count = { $count ->
    [0] No boundaries
    [one] One boundary
   *[other] { $count } boundaries
}
admin-import-title = Import boundaries
admin-import-file = CSV file
admin-import-hint = Columns code, name, level, parent_code; the first line names them.
admin-import-submit = Import
admin-import-no-file = Choose a CSV file to import.
admin-import-errors = Rows not imported
admin-import-summary = { $total } rows read: { $created } created, { $updated } updated, { $unchanged } unchanged, { $failed } failed.

admin-campaigns-title = Campaigns
admin-campaign-new = New campaign
admin-campaign-create = Create campaign
admin-back-campaigns = Back to campaigns
admin-campaigns-count = { $count ->
    [0] No campaigns
    [one] One campaign
   *[other] { $count } campaigns
}
admin-campaign-code-hint = Letters, digits, - and _ (for example LLIN-2026). It cannot be changed later.
admin-campaign-parent = Part of campaign
admin-campaign-no-parent = None
admin-campaign-boundaries-hint = Boundary codes, separated by commas or spaces (for example TETE, NIASSA).
admin-coverage-title = Coverage
admin-coverage-hint = Service delivery places of this campaign in your area with nobody assigned today.
admin-uncovered-count = { $count ->
    [0] Every place is covered.
    [one] One place has nobody assigned.
   *[other] { $count } places have nobody assigned.
}
admin-coverage-more = Only the first 100 are listed.

admin-audit-title = Audit log
admin-audit-action-hint = For example user.update, or user.* for all user actions.
admin-audit-count = { $count ->
    [0] No events
    [one] One event
   *[other] { $count } events
}
admin-outcome-success = Success
admin-outcome-failure = Failed
admin-outcome-denied = Refused

admin-dashboard-title = Dashboard
admin-dashboard-nothing = There is nothing to show with your permissions.
admin-chart-users-by-campaign = Active users by campaign
admin-chart-users-by-province = Active users by province
admin-chart-uncovered = Places with nobody assigned, by campaign
admin-chart-empty = No data yet.
admin-chart-data = Data table
admin-chart-count = Number

admin-err-invalid-code = This code is not valid: use letters, digits and the characters allowed here.
admin-err-duplicate-code = This code is already used.
admin-err-invalid-length = This is required, and must not be too long.
admin-err-required = This is required.
admin-err-unknown-action = This action does not exist.
admin-err-unknown-value = Choose one of the values offered.
admin-err-invalid-date = Enter a date as YYYY-MM-DD.
admin-err-date-order = The end date is before the start date.
admin-err-unknown-boundary = This boundary does not exist.
admin-err-outside-scope = This boundary is outside your area.
admin-err-unknown-campaign = This campaign does not exist.
admin-err-outside-parent-window = The dates must lie within the parent campaign's dates.
admin-err-outside-parent = This boundary is not covered by the parent campaign.
admin-err-cycle = A parent cannot be inside its own child.
admin-err-level-order = This level cannot be inside its parent's level.
admin-err-parent-failed = Its parent could not be imported.
admin-err-parent-change = This boundary already exists under another parent; moving boundaries is not supported.
admin-err-missing-columns = The first line must name the columns code, name, level and parent_code.
admin-err-escalation = You cannot give actions that you do not hold yourself.

# campaign edit page
admin-campaign-edit = Edit campaign
admin-campaign-save = Save changes
admin-campaign-cancel = Cancel
admin-campaign-stale = Someone else changed this campaign after you opened this page. Check the values and save again to replace their changes.
