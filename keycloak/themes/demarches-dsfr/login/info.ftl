<#--
  Keycloak's information page, as in the guide: the e-mail link opened asks to confirm with
  « Activer mon compte » (id kc-activer) when the actions include VERIFY_EMAIL (« Continuer »
  otherwise); a finished step offers « Accéder au portail » (id kc-acceder). Otherwise base's
  semantics: message, list of required actions, one way on (pageRedirectUri, actionUri or the
  client's base URL) unless skipLink.
-->
<#import "template.ftl" as layout>
<#-- messageHeader is either a message key or, from the action-token handlers, an already
     formatted text (formatting it again would eat its apostrophes). -->
<#assign entete = "">
<#if messageHeader??>
    <#assign entete = messageHeader?contains(" ")?then(messageHeader, msg(messageHeader))>
</#if>
<#assign confirmationAdresse = entete?has_content && entete == msg("confirmEmailAddressVerificationHeader")>
<#assign activation = actionUri?has_content && (confirmationAdresse || (requiredActions?? && requiredActions?seq_contains("VERIFY_EMAIL")))>
<#assign resume = (message.summary)!"">
<#assign compteActive = resume?has_content && resume == msg("emailVerifiedMessage")>
<@layout.registrationLayout displayMessage=false; section>
    <#if section = "header">
        <#if entete?has_content>
            ${kcSanitize(entete)?no_esc}
        <#elseif activation>
            ${msg("confirmEmailAddressVerificationHeader")}
        <#else>
            ${kcSanitize(resume)?no_esc}
        </#if>
    <#elseif section = "form">
    <div id="kc-info-message">
        <#if activation>
            <p class="instruction"><#if confirmationAdresse && resume?has_content>${kcSanitize(resume)?no_esc}<#else>${msg("demarchesActivationTexte")}</#if></p>
            <#if requiredActions?? && (requiredActions?size > 1)>
                <p class="fr-text--sm">${msg("demarchesActivationSuite")}</p>
                <ul class="fr-text--sm">
                    <#list requiredActions as reqActionItem><#if reqActionItem != "VERIFY_EMAIL"><li>${kcSanitize(msg("requiredAction.${reqActionItem}"))?no_esc}</li></#if></#list>
                </ul>
            </#if>
        <#else>
            <#if entete?has_content && resume?has_content>
                <p class="instruction">${kcSanitize(resume)?no_esc}</p>
            </#if>
            <#if requiredActions??>
                <#list requiredActions>
                    <ul class="instruction" id="kc-actions-requises">
                        <#items as reqActionItem><li><strong>${kcSanitize(msg("requiredAction.${reqActionItem}"))?no_esc}</strong></li></#items>
                    </ul>
                </#list>
            </#if>
            <#if compteActive>
                <p>${msg("demarchesCompteActiveTexte")}</p>
            </#if>
        </#if>

        <#if skipLink??>
        <#else>
            <#if pageRedirectUri?has_content>
                <p class="fr-mt-4w fr-mb-0"><a id="kc-acceder" class="fr-btn" href="${pageRedirectUri}">${msg("demarchesAccederAuPortail")}</a></p>
            <#elseif actionUri?has_content>
                <p class="fr-mt-4w fr-mb-0"><a id="kc-activer" class="fr-btn" href="${actionUri}"><#if activation>${msg("demarchesActiverMonCompte")}<#else>${msg("doContinue")}</#if></a></p>
            <#elseif (client.baseUrl)?has_content>
                <p class="fr-mt-4w fr-mb-0"><a id="kc-acceder" class="fr-btn" href="${client.baseUrl}">${msg("demarchesAccederAuPortail")}</a></p>
            <#elseif compteActive && properties.portailUrl?has_content>
                <p class="fr-mt-4w fr-mb-0"><a id="kc-acceder" class="fr-btn" href="${properties.portailUrl?remove_ending("/")}/">${msg("demarchesAccederAuPortail")}</a></p>
            </#if>
        </#if>
    </div>
    </#if>
</@layout.registrationLayout>
