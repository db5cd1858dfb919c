<#--
  Required action « demarches-cgu »: the versioned terms (attribute cguVersion), the checkbox
  cguAcceptees (posted as « on ») and its field error (cguAcceptees / cguNonAcceptees); the
  confirmation of a password chosen a moment ago (motDePasseModifie), the step before.
-->
<#import "template.ftl" as layout>
<#assign cguEnErreur = messagesPerField.existsError('cguAcceptees')>
<@layout.registrationLayout displayMessage=!cguEnErreur; section>
    <#if section = "header">
        ${msg("cguTitre")}
    <#elseif section = "form">
        <#if (motDePasseModifie!false) && !cguEnErreur>
            <div id="kc-mot-de-passe-modifie" class="fr-alert fr-alert--success fr-alert--sm fr-mb-3w" role="status">
                <p>${msg("demarchesMotDePasseEnregistre")}</p>
            </div>
        </#if>
        <p class="fr-text--sm fr-mb-2w demarches-version" id="cgu-version">${msg("cguVersionLibelle", (cguVersion!'1')?string)}</p>
        <div id="kc-terms-text" class="demarches-texte-cgu" tabindex="0" role="region" aria-labelledby="kc-page-title">
            ${kcSanitize(msg("cguTexte"))?no_esc}
        </div>
        <form id="kc-cgu-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post" novalidate>
            <fieldset class="fr-fieldset<#if cguEnErreur> fr-fieldset--error</#if> fr-mt-3w" aria-labelledby="cgu-legende<#if cguEnErreur> input-error-cguAcceptees</#if>">
                <legend id="cgu-legende" class="fr-sr-only">${msg("cguAcceptation")}</legend>
                <div class="fr-fieldset__element">
                    <div class="fr-checkbox-group">
                        <input type="checkbox" id="cguAcceptees" name="cguAcceptees" value="on"
                               aria-invalid="<#if cguEnErreur>true</#if>"<#if cguEnErreur> aria-describedby="input-error-cguAcceptees"</#if>/>
                        <label class="fr-label" for="cguAcceptees">${msg("cguCase")}</label>
                    </div>
                </div>
                <#if cguEnErreur>
                    <div class="fr-messages-group">
                        <p id="input-error-cguAcceptees" class="fr-error-text fr-mt-0" aria-live="polite">${kcSanitize(messagesPerField.get('cguAcceptees'))?no_esc}</p>
                    </div>
                </#if>
            </fieldset>
            <div id="kc-form-buttons" class="${properties.kcFormButtonsClass!}">
                <button class="fr-btn" type="submit" id="cgu-valider">${msg("cguValider")}</button>
            </div>
        </form>
    </#if>
</@layout.registrationLayout>
