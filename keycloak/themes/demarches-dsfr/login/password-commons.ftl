<#-- « Se déconnecter des autres appareils » as a DSFR checkbox; same macro, id, name and value
     as base's password-commons.ftl. -->
<#macro logoutOtherSessions>
    <div id="kc-form-options" class="fr-checkbox-group fr-checkbox-group--sm fr-mb-3w">
        <input type="checkbox" id="logout-sessions" name="logout-sessions" value="on">
        <label class="fr-label" for="logout-sessions">${msg("logoutOtherSessions")}</label>
    </div>
</#macro>

<#--
  The rules of a new password, read from the realm's policy (Keycloak's `passwordPolicies`, the
  realm's `passwordPolicy`: the only place they are written), all shown from the start, with
  or without JavaScript. resources/js/mot-de-passe.js marks each rule met or not as the person
  types into `champ` and says what is left in a polite live region; after Keycloak refuses a
  password, the whole list stays beside its message. `identite`: ids of the form's inputs the
  password must differ from (registration; Keycloak gives
  the update-password page neither, so there Keycloak alone checks that rule).
-->
<#macro regles champ identite="">
    <#if passwordPolicies??>
    <#local p = passwordPolicies>
    <div class="fr-messages-group demarches-regles" id="regles-${champ}" data-testid="regles-mot-de-passe"
         data-regles-pour="${champ}" data-identite="${identite}"
         data-texte-restant="${msg('demarchesReglesRestantes')}" data-texte-toutes="${msg('demarchesReglesToutes')}"
         data-texte-respectee="${msg('demarchesRegleRespectee')}" data-texte-non-respectee="${msg('demarchesRegleNonRespectee')}">
        <p class="fr-message" id="regles-${champ}-titre">${msg("demarchesReglesTitre")}</p>
        <ul class="demarches-regles__liste" aria-labelledby="regles-${champ}-titre">
            <#if p.length??><@regle "longueur" p.length texteRegle("demarchesRegleLongueur", p.length)/></#if>
            <#if p.maxLength??><@regle "longueur-max" p.maxLength texteRegle("demarchesRegleLongueurMax", p.maxLength)/></#if>
            <#if p.upperCase??><@regle "majuscule" p.upperCase texteRegle("demarchesRegleMajuscule", p.upperCase)/></#if>
            <#if p.lowerCase??><@regle "minuscule" p.lowerCase texteRegle("demarchesRegleMinuscule", p.lowerCase)/></#if>
            <#if p.digits??><@regle "chiffre" p.digits texteRegle("demarchesRegleChiffre", p.digits)/></#if>
            <#if p.specialChars??><@regle "symbole" p.specialChars texteRegle("demarchesRegleSymbole", p.specialChars) msg("demarchesRegleSymboleExemple")/></#if>
            <#if p.notUsername || p.notEmail><@regle "identifiant" 1 msg("demarchesRegleIdentifiant")/></#if>
            <#if p.passwordHistory??><@regle "historique" p.passwordHistory texteRegle("demarchesRegleHistorique", p.passwordHistory) "" false/></#if>
        </ul>
        <p class="fr-sr-only" id="etat-regles-${champ}" data-testid="etat-regles" aria-live="polite"></p>
    </div>
    <script type="module" src="${url.resourcesPath}/js/mot-de-passe.js"></script>
    <#else>
    <p class="fr-hint-text" id="regles-${champ}">${msg("demarchesMotDePasseAide")}</p>
    </#if>
</#macro>

<#-- One rule: its words (what the live summary repeats), an example not repeated, and a state
     for screen readers that the script fills; `verifiable` false for what only Keycloak can
     check (the last passwords). -->
<#macro regle nom valeur texte exemple="" verifiable=true>
    <li class="fr-message fr-message--info" data-regle="${nom}" data-valeur="${valeur?c}"<#if !verifiable> data-non-verifiable</#if>>
        <span class="demarches-regle__texte">${texte}</span><#if exemple?has_content><span class="demarches-regle__exemple">${exemple}</span></#if><span class="fr-sr-only demarches-regle__etat"></span>
    </li>
</#macro>

<#-- A rule's words for `n` (the key ends in « Pluriel » for more than one). -->
<#function texteRegle cle n>
    <#return msg(cle + (n gt 1)?then("Pluriel", ""), n?c)>
</#function>
