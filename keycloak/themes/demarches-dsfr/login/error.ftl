<#--
  Keycloak's error page. An e-mailed link that expired (or was already used) is no dead end:
  when the person never activated their account, « Recevoir un nouveau lien » (id
  kc-nouveau-lien) leads to the portal's page that sends a new activation link.
-->
<#import "template.ftl" as layout>
<#assign resume = (message.summary)!"">
<#assign lienExpire = resume?has_content && [msg("expiredActionTokenNoSessionMessage"), msg("expiredActionTokenSessionExistsMessage"), msg("actionLinkExpired"), msg("staleEmailVerificationLink")]?seq_contains(resume)>
<@layout.registrationLayout displayMessage=false; section>
    <#if section = "header">
        ${kcSanitize(msg("errorTitle"))?no_esc}
    <#elseif section = "form">
        <div id="kc-error-message">
            <p class="instruction">${kcSanitize(resume)?no_esc}</p>
            <#if lienExpire && properties.portailUrl?has_content>
                <p>${msg("demarchesLienExpireExplication")}</p>
                <p><a id="kc-nouveau-lien" class="fr-btn" href="${properties.portailUrl?remove_ending("/")}/compte/nouveau-lien">${msg("demarchesRecevoirNouveauLien")}</a></p>
            </#if>
            <#if traceId??>
                <p class="instruction" id="traceId">${msg("traceIdSupportMessage", traceId)}</p>
            </#if>
            <#if skipLink??>
            <#else>
                <#if client?? && client.baseUrl?has_content>
                    <p><a id="backToApplication" class="fr-link" href="${client.baseUrl}">${msg("backToApplication")}</a></p>
                </#if>
            </#if>
        </div>
    </#if>
</@layout.registrationLayout>
