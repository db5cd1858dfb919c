<#--
  « Créer mon compte »: the « Professionnel » tab (selected, the only one offered), the fields
  of the realm's declarative user profile, the password when the flow asks for it, then the
  offline captcha of the flow (form action demarches-captcha: captchaRequired, powChallenge,
  powDifficulty; the browser posts pow-challenge and pow-nonce). The submit button is never
  disabled: the server decides and answers on the field « captcha ».
-->
<#import "template.ftl" as layout>
<#import "user-profile-commons.ftl" as userProfileCommons>
<#import "register-commons.ftl" as registerCommons>
<#import "password-commons.ftl" as passwordCommons>
<@layout.registrationLayout displayMessage=messagesPerField.exists('global') displayRequiredFields=true; section>
    <#if section = "header">
        <#if messageHeader??>
            ${kcSanitize(msg("${messageHeader}"))?no_esc}
        <#else>
            ${msg("registerTitle")}
        </#if>
    <#elseif section = "form">
        <div class="fr-tabs demarches-onglets">
            <ul class="fr-tabs__list" role="tablist" aria-label="${msg('demarchesTypeDeCompte')}">
                <li role="presentation">
                    <button type="button" id="onglet-professionnel" class="fr-tabs__tab fr-icon-briefcase-line fr-tabs__tab--icon-left" tabindex="0" role="tab" aria-selected="true" aria-controls="onglet-professionnel-panneau">${msg("demarchesOngletProfessionnel")}</button>
                </li>
            </ul>
            <div id="onglet-professionnel-panneau" class="fr-tabs__panel fr-tabs__panel--selected" role="tabpanel" aria-labelledby="onglet-professionnel" tabindex="0">
                <p class="fr-text--sm">${msg("demarchesInscriptionIntro")}</p>

                <form id="kc-register-form" class="${properties.kcFormClass!}" action="${url.registrationAction}" method="post" novalidate>

                    <@userProfileCommons.userProfileFormFields masques=["username"]; callback, attribute>
                        <#if callback = "afterField">
                        <#-- password fields just under the e-mail, which is the username on registration -->
                            <#if passwordRequired?? && attribute.name == 'email'>
                                <@champMotDePasse id="password" libelle=msg("password") erreur="password" regles=true/>
                                <@champMotDePasse id="password-confirm" libelle=msg("passwordConfirm") erreur="password-confirm"/>
                            </#if>
                        </#if>
                    </@userProfileCommons.userProfileFormFields>

                    <@registerCommons.termsAcceptance/>

                    <#if captchaRequired??>
                        <#assign captchaEnErreur = messagesPerField.existsError('captcha')>
                        <div class="demarches-captcha">
                        <fieldset id="captcha" class="fr-fieldset<#if captchaEnErreur> fr-fieldset--error</#if>"
                                  aria-labelledby="captcha-legende<#if captchaEnErreur> input-error-captcha</#if>"
                                  data-pow-challenge="${powChallenge}"
                                  data-pow-difficulty="<#if powDifficulty?is_number>${powDifficulty?c}<#else>${powDifficulty}</#if>"
                                  data-texte-en-cours="${msg('captchaEnCours')}"
                                  data-texte-reussi="${msg('captchaReussi')}"
                                  data-texte-echec="${msg('captchaEchec')}">
                            <legend id="captcha-legende" class="fr-fieldset__legend">
                                ${msg("captchaTitre")}
                                <span class="fr-hint-text">${msg("captchaAide")}</span>
                            </legend>
                            <div class="fr-fieldset__element">
                                <div class="fr-checkbox-group">
                                    <input type="checkbox" id="captcha-case" aria-describedby="captcha-statut<#if captchaEnErreur> input-error-captcha</#if>"/>
                                    <label class="fr-label" for="captcha-case">${msg("captchaCase")}</label>
                                </div>
                            </div>
                            <input type="hidden" name="pow-challenge" value="${powChallenge}"/>
                            <input type="hidden" id="pow-nonce" name="pow-nonce" value=""/>
                            <div class="fr-fieldset__element fr-mb-0">
                                <p id="captcha-statut" class="demarches-captcha__statut" aria-live="polite"></p>
                            </div>
                            <#if captchaEnErreur>
                                <div class="fr-messages-group">
                                    <p id="input-error-captcha" class="fr-error-text fr-mt-0" aria-live="polite">${kcSanitize(messagesPerField.get('captcha'))?no_esc}</p>
                                </div>
                            </#if>
                        </fieldset>
                        </div>
                        <script type="module" src="${url.resourcesPath}/js/captcha.js"></script>
                    </#if>

                    <#if recaptchaRequired?? && (recaptchaVisible!false)>
                        <div class="fr-input-group">
                            <div class="g-recaptcha" data-size="compact" data-sitekey="${recaptchaSiteKey}" data-action="${recaptchaAction}"></div>
                        </div>
                    </#if>

                    <#if recaptchaRequired?? && !(recaptchaVisible!false)>
                        <script>
                            function onSubmitRecaptcha(token) {
                                document.getElementById("kc-register-form").requestSubmit();
                            }
                        </script>
                        <div id="kc-form-buttons" class="${properties.kcFormButtonsClass!}">
                            <button class="fr-btn g-recaptcha" data-sitekey="${recaptchaSiteKey}" data-callback="onSubmitRecaptcha" data-action="${recaptchaAction}" type="submit">${msg("doRegister")}</button>
                        </div>
                    <#else>
                        <div id="kc-form-buttons" class="${properties.kcFormButtonsClass!}">
                            <button class="fr-btn" type="submit" id="kc-creer-compte">${msg("doRegister")}</button>
                        </div>
                    </#if>

                    <p id="kc-form-options" class="fr-mt-3w fr-mb-0">
                        <a class="fr-link" href="${url.loginUrl}">${msg("backToLogin")}</a>
                    </p>
                </form>
            </div>
        </div>
        <script type="module" src="${url.resourcesPath}/js/passwordVisibility.js"></script>
    </#if>
</@layout.registrationLayout>

<#-- A password input with its show/hide button (base's passwordVisibility.js). -->
<#macro champMotDePasse id libelle erreur regles=false>
    <#local enErreur = messagesPerField.existsError(erreur)>
    <div class="fr-input-group<#if enErreur> fr-input-group--error</#if>">
        <label for="${id}" class="fr-label">${libelle}<span class="demarches-requis" aria-hidden="true">&nbsp;*</span>
        </label>
        <div class="${properties.kcInputGroup!} demarches-champ" dir="ltr">
            <input type="password" id="${id}" class="fr-input<#if enErreur> fr-input--error</#if>" name="${id}"
                   autocomplete="new-password" aria-required="true"
                   aria-invalid="<#if enErreur>true</#if>"
                   <#if regles || enErreur>aria-describedby="<#if enErreur>input-error-${id}</#if><#if regles> regles-${id}</#if>"</#if>
            />
            <button class="${properties.kcFormPasswordVisibilityButtonClass!}" type="button" aria-label="${msg('showPassword')}"
                    aria-controls="${id}" data-password-toggle
                    data-icon-show="${properties.kcFormPasswordVisibilityIconShow!}" data-icon-hide="${properties.kcFormPasswordVisibilityIconHide!}"
                    data-label-show="${msg('showPassword')}" data-label-hide="${msg('hidePassword')}">
                <i class="${properties.kcFormPasswordVisibilityIconShow!}" aria-hidden="true"></i>
            </button>
        </div>
        <#if enErreur>
            <p id="input-error-${id}" class="${properties.kcInputErrorMessageClass!}" aria-live="polite">${kcSanitize(messagesPerField.get(erreur))?no_esc}</p>
        </#if>
        <#if regles><@passwordCommons.regles champ=id identite="email username"/></#if>
    </div>
</#macro>
