<#--
  « Choisissez votre mot de passe » (first login with a temporary password, forgotten password,
  change from « Mes données personnelles »): base's form with the realm's password rules
  under the input (password-commons.ftl). Same ids and names as base (kc-passwd-update-form, password-new, password-confirm,
  logout-sessions, login, cancel-aia); the main button comes first.
-->
<#import "template.ftl" as layout>
<#import "password-commons.ftl" as passwordCommons>
<#assign erreurNouveau = messagesPerField.existsError('password')>
<#assign erreurConfirmation = messagesPerField.existsError('password-confirm')>
<#-- Keycloak's « update password » required action (a temporary password, or an account just
     activated): the guide's explanation instead of a bare warning. -->
<#assign premiereConnexion = message?has_content && message.summary == msg("updatePasswordMessage")>
<@layout.registrationLayout displayMessage=!premiereConnexion && !messagesPerField.existsError('password','password-confirm'); section>
    <#if section = "header">
        ${msg("updatePasswordTitle")}
    <#elseif section = "form">
        <#if premiereConnexion>
            <div id="kc-premiere-connexion" class="fr-alert fr-alert--info fr-mb-3w">
                <h2 class="fr-alert__title">${msg("demarchesPersonnaliserTitre")}</h2>
                <p>${msg("demarchesPersonnaliserTexte")}</p>
            </div>
        </#if>
        <form id="kc-passwd-update-form" class="${properties.kcFormClass!}" onsubmit="login.disabled = true; return true;" action="${url.loginAction}" method="post" novalidate>
            <div class="fr-input-group<#if erreurNouveau> fr-input-group--error</#if>">
                <label for="password-new" class="fr-label">${msg("passwordNew")}</label>
                <div class="${properties.kcInputGroup!} demarches-champ" dir="ltr">
                    <input type="password" id="password-new" name="password-new" class="fr-input<#if erreurNouveau> fr-input--error</#if>"
                           autofocus autocomplete="new-password"
                           aria-invalid="<#if messagesPerField.existsError('password','password-confirm')>true</#if>"
                           aria-describedby="<#if erreurNouveau>input-error-password </#if>regles-password-new"
                    />
                    <button class="${properties.kcFormPasswordVisibilityButtonClass!}" type="button" aria-label="${msg('showPassword')}"
                            aria-controls="password-new" data-password-toggle
                            data-icon-show="${properties.kcFormPasswordVisibilityIconShow!}" data-icon-hide="${properties.kcFormPasswordVisibilityIconHide!}"
                            data-label-show="${msg('showPassword')}" data-label-hide="${msg('hidePassword')}">
                        <i class="${properties.kcFormPasswordVisibilityIconShow!}" aria-hidden="true"></i>
                    </button>
                </div>
                <#if erreurNouveau>
                    <p id="input-error-password" class="${properties.kcInputErrorMessageClass!}" aria-live="polite">${kcSanitize(messagesPerField.get('password'))?no_esc}</p>
                </#if>
                <#-- Every rule, also after a refusal (Keycloak names only the first it breaks). -->
                <@passwordCommons.regles champ="password-new"/>
            </div>

            <div class="fr-input-group<#if erreurConfirmation> fr-input-group--error</#if>">
                <label for="password-confirm" class="fr-label">${msg("passwordConfirm")}</label>
                <div class="${properties.kcInputGroup!} demarches-champ" dir="ltr">
                    <input type="password" id="password-confirm" name="password-confirm" class="fr-input<#if erreurConfirmation> fr-input--error</#if>"
                           autocomplete="new-password"
                           aria-invalid="<#if erreurConfirmation>true</#if>"
                           <#if erreurConfirmation>aria-describedby="input-error-password-confirm"</#if>
                    />
                    <button class="${properties.kcFormPasswordVisibilityButtonClass!}" type="button" aria-label="${msg('showPassword')}"
                            aria-controls="password-confirm" data-password-toggle
                            data-icon-show="${properties.kcFormPasswordVisibilityIconShow!}" data-icon-hide="${properties.kcFormPasswordVisibilityIconHide!}"
                            data-label-show="${msg('showPassword')}" data-label-hide="${msg('hidePassword')}">
                        <i class="${properties.kcFormPasswordVisibilityIconShow!}" aria-hidden="true"></i>
                    </button>
                </div>
                <#if erreurConfirmation>
                    <p id="input-error-password-confirm" class="${properties.kcInputErrorMessageClass!}" aria-live="polite">${kcSanitize(messagesPerField.get('password-confirm'))?no_esc}</p>
                </#if>
            </div>

            <@passwordCommons.logoutOtherSessions/>

            <div id="kc-form-buttons" class="${properties.kcFormButtonsClass!}">
                <button name="login" class="fr-btn" type="submit" id="kc-valider-mot-de-passe">${msg("doSubmit")}</button>
                <#if isAppInitiatedAction??>
                    <button class="fr-btn fr-btn--secondary" type="submit" name="cancel-aia" value="true" formnovalidate>${msg("doCancel")}</button>
                </#if>
            </div>
        </form>
        <script type="module" src="${url.resourcesPath}/js/passwordVisibility.js"></script>
    </#if>
</@layout.registrationLayout>
