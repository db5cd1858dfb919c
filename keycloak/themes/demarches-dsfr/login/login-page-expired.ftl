<#-- Base's expired page with DSFR buttons; same link ids (loginRestartLink, loginContinueLink). -->
<#import "template.ftl" as layout>
<@layout.registrationLayout; section>
    <#if section = "header">
        ${msg("pageExpiredTitle")}
    <#elseif section = "form">
        <p id="instruction1" class="instruction">${msg("demarchesPageExpireeTexte")}</p>
        <ul class="fr-btns-group fr-btns-group--inline-md">
            <li><a id="loginContinueLink" class="fr-btn" href="${url.loginAction}">${msg("demarchesPageExpireeContinuer")}</a></li>
            <li><a id="loginRestartLink" class="fr-btn fr-btn--secondary" href="${url.loginRestartFlowUrl}">${msg("demarchesPageExpireeRecommencer")}</a></li>
        </ul>
    </#if>
</@layout.registrationLayout>
