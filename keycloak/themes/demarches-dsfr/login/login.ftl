<#--
  « Connectez-vous au portail de services »: the login page of the guide, presentation on the
  left, the form on the right. Ids and names are Keycloak's (kc-form-login, username, password,
  credentialId, kc-login); tests and the HTTP login helper rely on them.
-->
<#import "template.ftl" as layout>
<#import "passkeys.ftl" as passkeys>
<#assign erreurIdentifiants = messagesPerField.existsError('username','password')>
<@layout.registrationLayout displayMessage=!erreurIdentifiants displayInfo=realm.password && realm.registrationAllowed && !registrationDisabled?? presentation=true; section>
    <#if section = "header">
        ${msg("loginAccountTitle")}
    <#elseif section = "presentation">
        <div class="demarches-presentation__texte">
            <h2 class="fr-h3">${msg("demarchesPresentationTitre")}</h2>
            <p>${msg("demarchesPresentationTexte")}</p>
            <p class="fr-mb-1w"><strong>${msg("demarchesPresentationPourDebuter")}</strong></p>
            <ol class="demarches-etapes">
                <li><strong>${msg("demarchesEtape1")}</strong></li>
                <li><strong>${msg("demarchesEtape2")}</strong></li>
                <li><strong>${msg("demarchesEtape3")}</strong></li>
            </ol>
            <#-- The guide's « En savoir plus »: each step in one sentence, folded (no script needed). -->
            <details class="demarches-en-savoir-plus">
                <summary class="fr-link">${msg("demarchesEnSavoirPlus")}</summary>
                <div data-testid="en-savoir-plus">
                    <#list 1..3 as etape>
                    <h3 class="fr-h6 fr-mt-2w fr-mb-1v">${msg("demarchesEtape" + etape)}</h3>
                    <p class="fr-text--sm fr-mb-0">${msg("demarchesEtape" + etape + "Explication")}</p>
                    </#list>
                </div>
            </details>
        </div>
    <#elseif section = "form">
        <div id="kc-form">
          <div id="kc-form-wrapper">
            <#if realm.password>
                <form id="kc-form-login" class="${properties.kcFormClass!}" onsubmit="login.disabled = true; return true;" action="${url.loginAction}" method="post" novalidate>
                    <#if !usernameHidden??>
                        <div class="fr-input-group<#if erreurIdentifiants> fr-input-group--error</#if>">
                            <label for="username" class="fr-label"><#if !realm.loginWithEmailAllowed>${msg("username")}<#elseif !realm.registrationEmailAsUsername>${msg("usernameOrEmail")}<#else>${msg("email")}</#if>
                                <#if realm.registrationEmailAsUsername><span class="fr-hint-text">${msg("demarchesFormatAdresse")}</span></#if>
                            </label>
                            <input id="username" class="fr-input<#if erreurIdentifiants> fr-input--error</#if>" name="username" value="${(login.username!'')}" type="text"
                                   autofocus autocomplete="${(enableWebAuthnConditionalUI?has_content)?then('username webauthn', 'username')}"
                                   <#if realm.registrationEmailAsUsername>inputmode="email"</#if> spellcheck="false" autocapitalize="none"
                                   aria-invalid="<#if erreurIdentifiants>true</#if>"
                                   <#if erreurIdentifiants>aria-describedby="input-error"</#if>
                                   dir="ltr"
                            />
                        </div>
                    </#if>

                    <div class="fr-input-group<#if erreurIdentifiants> fr-input-group--error</#if>">
                        <label for="password" class="fr-label">${msg("password")}</label>
                        <div class="${properties.kcInputGroup!} demarches-champ" dir="ltr">
                            <input id="password" class="fr-input<#if erreurIdentifiants> fr-input--error</#if>" name="password" type="password" autocomplete="current-password"
                                   aria-invalid="<#if erreurIdentifiants>true</#if>"
                                   <#if erreurIdentifiants>aria-describedby="input-error"</#if>
                            />
                            <button class="${properties.kcFormPasswordVisibilityButtonClass!}" type="button" aria-label="${msg('showPassword')}"
                                    aria-controls="password" data-password-toggle
                                    data-icon-show="${properties.kcFormPasswordVisibilityIconShow!}" data-icon-hide="${properties.kcFormPasswordVisibilityIconHide!}"
                                    data-label-show="${msg('showPassword')}" data-label-hide="${msg('hidePassword')}">
                                <i class="${properties.kcFormPasswordVisibilityIconShow!}" aria-hidden="true"></i>
                            </button>
                        </div>
                        <#if erreurIdentifiants>
                            <p id="input-error" class="${properties.kcInputErrorMessageClass!}" aria-live="polite">
                                ${kcSanitize(messagesPerField.getFirstError('username','password'))?no_esc}
                            </p>
                        </#if>
                    </div>

                    <#if realm.resetPasswordAllowed>
                        <p class="fr-mb-3w"><a class="fr-link" href="${url.loginResetCredentialsUrl}">${msg("doForgotPassword")}</a></p>
                    </#if>

                    <#if realm.rememberMe && !usernameHidden??>
                        <div class="fr-checkbox-group fr-checkbox-group--sm fr-mb-3w">
                            <input id="rememberMe" name="rememberMe" type="checkbox"<#if login.rememberMe??> checked</#if>>
                            <label class="fr-label" for="rememberMe">${msg("rememberMe")}</label>
                        </div>
                    </#if>

                    <div id="kc-form-buttons" class="${properties.kcFormButtonsClass!}">
                        <input type="hidden" id="id-hidden-input" name="credentialId" <#if auth.selectedCredential?has_content>value="${auth.selectedCredential}"</#if>/>
                        <button class="fr-btn" name="login" id="kc-login" type="submit">${msg("doLogIn")}</button>
                    </div>
                </form>
            </#if>
          </div>
        </div>
        <@passkeys.conditionalUIData />
        <script type="module" src="${url.resourcesPath}/js/passwordVisibility.js"></script>
    <#elseif section = "info" >
        <#if realm.password && realm.registrationAllowed && !registrationDisabled??>
            <div id="kc-registration-container" class="demarches-separation">
                <h2 class="fr-h5">${msg("noAccount")}</h2>
                <p id="kc-registration">
                    <a class="fr-btn fr-btn--secondary" href="${url.registrationUrl}">${msg("demarchesSeCreerUnCompte")}</a>
                </p>
                <#if properties.portailUrl?has_content>
                    <p id="kc-nouveau-lien" class="fr-text--sm fr-mt-2w fr-mb-0">${msg("demarchesLienActivationQuestion")}
                        <a class="fr-link fr-text--sm" href="${properties.portailUrl?remove_ending("/")}/compte/nouveau-lien">${msg("demarchesRecevoirNouveauLien")}</a></p>
                </#if>
            </div>
        </#if>
    <#elseif section = "socialProviders" >
        <#if realm.password && social?? && social.providers?has_content>
            <div id="kc-social-providers" class="demarches-separation">
                <h2 class="fr-h5">${msg("identity-provider-login-label")}</h2>
                <ul class="fr-btns-group">
                    <#list social.providers as p>
                        <li>
                            <a data-once-link data-disabled-class="fr-btn--disabled" id="social-${p.alias}"
                               class="fr-btn fr-btn--secondary" href="${p.loginUrl}">${p.displayName!}</a>
                        </li>
                    </#list>
                </ul>
            </div>
        </#if>
    </#if>
</@layout.registrationLayout>
