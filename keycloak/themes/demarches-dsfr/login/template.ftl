<#--
  Layout of every login page, shared by both variants of the theme:
  properties.variante = "dsfr" (bloc Marianne, DSFR assets) or "neutre" (plain service header).
  Same macro and sections as Keycloak's base template.ftl (header, show-username, form,
  socialProviders, info), so base pages render in it unchanged. One optional parameter is
  ours: presentation=true puts the nested "presentation" section beside the card (login page).
-->
<#import "footer.ftl" as loginFooter>
<#import "theme-resources.ftl" as themeResourceTags>
<#macro registrationLayout bodyClass="" displayInfo=false displayMessage=true displayRequiredFields=false presentation=false>
<#assign dsfr = (properties.variante!"dsfr") == "dsfr">
<#assign serviceName = msg("demarchesServiceTitle")>
<#assign portailUrl = (properties.portailUrl!"")?remove_ending("/")>
<#if !portailUrl?has_content && (client.baseUrl)?has_content>
    <#assign portailUrl = client.baseUrl?remove_ending("/")>
</#if>
<#-- The page heading, captured once: the h1 and the document title. -->
<#assign pageHeading><#nested "header"></#assign>
<#assign pageTitle = pageHeading?markup_string?replace("<[^>]*>", " ", "r")?replace("\\s+", " ", "r")?trim>
<#assign wideCard = ["register", "login-update-profile", "update-email", "idp-review-user-profile", "cgu", "terms"]?seq_contains(pageId!"")>
<!DOCTYPE html>
<html lang="fr"<#if dsfr> data-fr-scheme="light"</#if><#if properties.kcHtmlClass?has_content> class="${properties.kcHtmlClass}"</#if>>
<head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
    <meta name="format-detection" content="telephone=no,date=no,address=no,email=no,url=no">
    <meta name="robots" content="noindex, nofollow">
    <#if properties.meta?has_content>
        <#list properties.meta?split(' ') as meta>
            <meta name="${meta?split('==')[0]}" content="${meta?split('==')[1]}"/>
        </#list>
    </#if>
    <#-- pageTitle comes from markup already escaped, tags removed: printed as is. -->
    <title><#if pageTitle?has_content>${pageTitle?no_esc} — </#if>${serviceName}</title>
    <#if themeResources?? && themeResources.favicons?has_content>
        <@themeResourceTags.renderFavicons themeResources.favicons url.resourcesPath />
    <#else>
        <#if properties.favicon?has_content><link rel="icon" href="${url.resourcesPath}/${properties.favicon}" type="image/svg+xml" /></#if>
        <#if properties.faviconIco?has_content><link rel="shortcut icon" href="${url.resourcesPath}/${properties.faviconIco}" type="image/x-icon" /></#if>
        <#if properties.appleTouchIcon?has_content><link rel="apple-touch-icon" href="${url.resourcesPath}/${properties.appleTouchIcon}" /></#if>
    </#if>
    <#if themeResources?? && themeResources.stylesCommon?has_content>
        <@themeResourceTags.renderStyles themeResources.stylesCommon url.resourcesCommonPath />
    <#elseif properties.stylesCommon?has_content>
        <#list properties.stylesCommon?split(' ') as style>
            <link href="${url.resourcesCommonPath}/${style}" rel="stylesheet" />
        </#list>
    </#if>
    <#if themeResources?? && themeResources.styles?has_content>
        <@themeResourceTags.renderStyles themeResources.styles url.resourcesPath />
    <#elseif properties.styles?has_content>
        <#list properties.styles?split(' ') as style>
            <link href="${url.resourcesPath}/${style}" rel="stylesheet" />
        </#list>
    </#if>
    <#if themeResources?? && themeResources.scripts?has_content>
        <@themeResourceTags.renderScripts themeResources.scripts url.resourcesPath "text/javascript" />
    <#elseif properties.scripts?has_content>
        <#list properties.scripts?split(' ') as script>
            <script src="${url.resourcesPath}/${script}" type="text/javascript"></script>
        </#list>
    </#if>
    <#if properties.scriptsModule?has_content>
        <#list properties.scriptsModule?split(' ') as script>
            <script src="${url.resourcesPath}/${script}" type="module"></script>
        </#list>
    </#if>
    <script type="importmap">
        {
            "imports": {
                "rfc4648": "${url.resourcesCommonPath}/vendor/rfc4648/rfc4648.js"
            }
        }
    </script>
    <#if scripts??>
        <#list scripts as script>
            <script src="${script}" type="text/javascript"></script>
        </#list>
    </#if>
    <#-- Kept from base: a login finished in another tab takes this one along. -->
    <script type="module">
        <#outputformat "JavaScript">
        import { startSessionPolling } from ${(url.resourcesPath + "/js/authChecker.js")?c};

        startSessionPolling(
            ${url.ssoLoginInOtherTabsUrl?c}
        );
        </#outputformat>
    </script>
    <script type="module">
        document.addEventListener("click", (event) => {
            const link = event.target.closest("a[data-once-link]");

            if (!link) {
                return;
            }

            if (link.getAttribute("aria-disabled") === "true") {
                event.preventDefault();
                return;
            }

            const { disabledClass } = link.dataset;

            if (disabledClass) {
                link.classList.add(...disabledClass.trim().split(/\s+/));
            }

            link.setAttribute("role", "link");
            link.setAttribute("aria-disabled", "true");
        });
    </script>
    <#if authenticationSession??>
        <script type="module">
            <#outputformat "JavaScript">
            import { checkAuthSession } from ${(url.resourcesPath + "/js/authChecker.js")?c};

            checkAuthSession(
                ${authenticationSession.authSessionIdHash?c}
            );
            </#outputformat>
        </script>
    </#if>
</head>

<body class="${properties.kcBodyClass!} demarches--${properties.variante!'dsfr'}<#if bodyClass?has_content> ${bodyClass}</#if>" data-page-id="login-${pageId}">
<div class="fr-skiplinks">
    <nav class="fr-container" role="navigation" aria-label="${msg('demarchesAccesRapide')}">
        <ul class="fr-skiplinks__list">
            <li><a class="fr-link" href="#contenu">${msg("demarchesAllerAuContenu")}</a></li>
            <li><a class="fr-link" href="#pied-de-page">${msg("demarchesAllerAuPied")}</a></li>
        </ul>
    </nav>
</div>

<header role="banner" class="fr-header" id="kc-header">
    <div class="fr-header__body">
        <div class="fr-container">
            <div class="fr-header__body-row">
                <div class="fr-header__brand<#if portailUrl?has_content> fr-enlarge-link</#if>">
                    <#if dsfr>
                    <div class="fr-header__brand-top">
                        <div class="fr-header__logo">
                            <p class="fr-logo">République<br>Française</p>
                        </div>
                    </div>
                    </#if>
                    <div class="fr-header__service">
                        <#if portailUrl?has_content>
                        <a href="${portailUrl}/" title="${msg('demarchesAccueil')} — ${serviceName}">
                            <p class="fr-header__service-title">${serviceName}</p>
                        </a>
                        <#else>
                            <p class="fr-header__service-title">${serviceName}</p>
                        </#if>
                        <p class="fr-header__service-tagline">${msg("demarchesServiceTagline")}</p>
                    </div>
                </div>
            </div>
        </div>
    </div>
</header>

<main role="main" id="contenu" tabindex="-1" class="demarches-principal">
    <div class="fr-container">
        <div class="fr-grid-row fr-grid-row--gutters fr-grid-row--center">
            <div class="fr-col-12 <#if presentation>fr-col-md-6<#elseif wideCard>fr-col-md-10 fr-col-lg-8<#else>fr-col-md-8 fr-col-lg-6</#if>">
                <div id="kc-content" class="demarches-carte">
                    <div id="kc-content-wrapper" class="demarches-carte__corps">
                        <h1 id="kc-page-title" class="demarches-titre">${pageHeading}</h1>

                        <#if auth?has_content && auth.showUsername() && !auth.showResetCredentials()>
                            <#nested "show-username">
                            <div id="kc-username" class="demarches-compte">
                                <p class="fr-mb-0">
                                    <span class="fr-text--sm">${msg("demarchesCompte")}</span>
                                    <strong id="kc-attempted-username">${auth.attemptedUsername}</strong>
                                    <a id="reset-login" class="fr-link fr-link--sm fr-ml-1w" href="${url.loginRestartFlowUrl}" aria-label="${msg('restartLoginTooltip')}">${msg("demarchesChangerDeCompte")}</a>
                                </p>
                            </div>
                        </#if>

                        <#if displayRequiredFields>
                            <p class="fr-text--sm demarches-legende" id="kc-champs-obligatoires">${msg("demarchesChampsObligatoires")}</p>
                        </#if>

                        <#-- App-initiated actions should not see warning messages about the need to complete the action during login. -->
                        <#if displayMessage && message?has_content && (message.type != 'warning' || !isAppInitiatedAction??)>
                            <div id="kc-message" class="${properties.kcAlertClass!} fr-alert--${message.type} fr-mb-3w"<#if message.type == 'error' || message.type == 'warning'> role="alert"<#else> role="status"</#if>>
                                <p>${kcSanitize(message.summary)?no_esc}</p>
                            </div>
                        </#if>

                        <#nested "form">

                        <#if auth?has_content && auth.showTryAnotherWayLink()>
                            <form id="kc-select-try-another-way-form" action="${url.loginAction}" method="post" class="fr-mt-3w">
                                <input type="hidden" name="tryAnotherWay" value="on"/>
                                <a href="#" id="try-another-way" class="fr-link"
                                   onclick="document.forms['kc-select-try-another-way-form'].requestSubmit();return false;">${msg("doTryAnotherWay")}</a>
                            </form>
                        </#if>

                        <#if switchOrganizationEnabled?? && switchOrganizationEnabled>
                            <form id="kc-switch-organization-form" action="${url.loginAction}" method="post" class="fr-mt-3w">
                                <input type="hidden" name="switchOrganization" value="true"/>
                                <a href="#" id="switch-organization" class="fr-link"
                                   onclick="document.forms['kc-switch-organization-form'].requestSubmit();return false;">${msg("doSwitchOrganization")}</a>
                            </form>
                        </#if>

                        <#nested "socialProviders">

                        <#if displayInfo>
                            <div id="kc-info" class="${properties.kcSignUpClass!}">
                                <div id="kc-info-wrapper" class="${properties.kcInfoAreaWrapperClass!}">
                                    <#nested "info">
                                </div>
                            </div>
                        </#if>

                        <@loginFooter.content/>
                    </div>
                </div>
            </div>
            <#if presentation>
            <#-- After the form in reading order; shown on its left from medium screens (CSS order). -->
            <div class="fr-col-12 fr-col-md-6 demarches-presentation">
                <#nested "presentation">
            </div>
            </#if>
        </div>
    </div>
</main>

<footer class="fr-footer" role="contentinfo" id="pied-de-page">
    <div class="fr-container">
        <div class="fr-footer__body">
            <#if dsfr>
            <div class="fr-footer__brand<#if portailUrl?has_content> fr-enlarge-link</#if>">
                <#if portailUrl?has_content>
                <a href="${portailUrl}/" title="${msg('demarchesRetourAccueil')} — ${serviceName}">
                    <p class="fr-logo">République<br>Française</p>
                </a>
                <#else>
                    <p class="fr-logo">République<br>Française</p>
                </#if>
            </div>
            </#if>
            <div class="fr-footer__content">
                <#if properties.assistanceTelephone?has_content>
                <div class="demarches-assistance fr-mb-2w" data-testid="assistance">
                    <h2 class="fr-h6 fr-mb-1w">${msg("demarchesAssistanceTitre")}</h2>
                    <p class="fr-text--sm fr-mb-0">${msg("demarchesAssistanceTexte", properties.assistanceHoraires!"")}
                        <a href="tel:${properties.assistanceTelephone?replace(" ", "")}">${properties.assistanceTelephone}</a>,
                        ${msg("demarchesAssistanceCourriel")}
                        <a href="mailto:${properties.assistanceCourriel!""}">${properties.assistanceCourriel!""}</a>.</p>
                </div>
                </#if>
                <p class="fr-footer__content-desc">${msg("demarchesDispositif")}</p>
                <#if dsfr>
                <ul class="fr-footer__content-list">
                    <li class="fr-footer__content-item"><a class="fr-footer__content-link" target="_blank" rel="noopener" title="info.gouv.fr — ${msg('demarchesNouvelleFenetre')}" href="https://www.info.gouv.fr">info.gouv.fr</a></li>
                    <li class="fr-footer__content-item"><a class="fr-footer__content-link" target="_blank" rel="noopener" title="service-public.fr — ${msg('demarchesNouvelleFenetre')}" href="https://www.service-public.fr">service-public.fr</a></li>
                    <li class="fr-footer__content-item"><a class="fr-footer__content-link" target="_blank" rel="noopener" title="legifrance.gouv.fr — ${msg('demarchesNouvelleFenetre')}" href="https://www.legifrance.gouv.fr">legifrance.gouv.fr</a></li>
                    <li class="fr-footer__content-item"><a class="fr-footer__content-link" target="_blank" rel="noopener" title="data.gouv.fr — ${msg('demarchesNouvelleFenetre')}" href="https://www.data.gouv.fr">data.gouv.fr</a></li>
                </ul>
                </#if>
            </div>
        </div>
        <div class="fr-footer__bottom">
            <ul class="fr-footer__bottom-list">
                <li class="fr-footer__bottom-item"><a class="fr-footer__bottom-link" href="${portailUrl}/mentions-legales">${msg("demarchesMentionsLegales")}</a></li>
                <li class="fr-footer__bottom-item"><a class="fr-footer__bottom-link" href="${portailUrl}/cgu">${msg("demarchesCgu")}</a></li>
                <li class="fr-footer__bottom-item"><a class="fr-footer__bottom-link" href="${portailUrl}/accessibilite">${msg("demarchesAccessibilite")}</a></li>
            </ul>
            <#if dsfr>
            <div class="fr-footer__bottom-copy">
                <p>${msg("demarchesLicence")} <a href="https://github.com/etalab/licence-ouverte/blob/master/LO.md" target="_blank" rel="noopener" title="${msg('demarchesLicenceLien')} — ${msg('demarchesNouvelleFenetre')}">${msg("demarchesLicenceLien")}</a></p>
            </div>
            </#if>
        </div>
    </div>
</footer>
</body>
</html>
</#macro>
