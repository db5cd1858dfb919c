<#-- « Se déconnecter des autres appareils » as a DSFR checkbox; same macro, id, name and value
     as base's password-commons.ftl. -->
<#macro logoutOtherSessions>
    <div id="kc-form-options" class="fr-checkbox-group fr-checkbox-group--sm fr-mb-3w">
        <input type="checkbox" id="logout-sessions" name="logout-sessions" value="on">
        <label class="fr-label" for="logout-sessions">${msg("logoutOtherSessions")}</label>
    </div>
</#macro>
