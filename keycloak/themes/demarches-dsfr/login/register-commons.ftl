<#-- Keycloak's terms acceptance on the registration form (disabled in our flow), DSFR markup;
     same macro, ids and names as base's register-commons.ftl. -->
<#macro termsAcceptance>
    <#if termsAcceptanceRequired??>
        <#assign termsEnErreur = messagesPerField.existsError('termsAccepted')>
        <div class="fr-mb-3w">
            <h2 class="fr-h6 fr-mb-1w">${msg("termsTitle")}</h2>
            <div id="kc-registration-terms-text" class="demarches-texte-cgu">
                ${kcSanitize(msg("termsText"))?no_esc}
            </div>
        </div>
        <fieldset class="fr-fieldset<#if termsEnErreur> fr-fieldset--error</#if>" aria-labelledby="<#if termsEnErreur>input-error-terms-accepted</#if>">
            <div class="fr-fieldset__element">
                <div class="fr-checkbox-group">
                    <input type="checkbox" id="termsAccepted" name="termsAccepted"
                           aria-invalid="<#if termsEnErreur>true</#if>"<#if termsEnErreur> aria-describedby="input-error-terms-accepted"</#if>/>
                    <label for="termsAccepted" class="fr-label">${msg("acceptTerms")}</label>
                </div>
            </div>
            <#if termsEnErreur>
                <div class="fr-messages-group">
                    <p id="input-error-terms-accepted" class="fr-error-text fr-mt-0" aria-live="polite">${kcSanitize(messagesPerField.get('termsAccepted'))?no_esc}</p>
                </div>
            </#if>
        </fieldset>
    </#if>
</#macro>
