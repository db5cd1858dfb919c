<#--
  HTML layout of every e-mail: a simple header (« République Française — Mes démarches emploi
  et formation professionnelle », without the État's mention for the neutral variant, read from
  properties.variante), the message, a footer. Inline styles only: no external asset.
  In a message, <a class="bouton" href="…"> becomes a button of the variant's colour and
  <p class="petit"> a paragraph in small print (the sanitizer keeps class, styles stay here).
-->
<#macro emailLayout>
<#assign etat = (properties.variante!"dsfr") == "dsfr">
<#assign couleur = etat?then("#000091", "#2b4c7e")>
<#assign corps><#nested></#assign>
<#assign styleBouton = "display:inline-block;padding:12px 24px;background-color:" + couleur + ";color:#ffffff;font-weight:bold;text-decoration:none;border-radius:" + etat?then("0", "4px") + ";">
<!DOCTYPE html>
<html lang="fr" dir="ltr">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${msg("demarchesServiceTitle")}</title>
</head>
<body style="margin:0;padding:0;background-color:#f6f6f6;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f6f6f6;">
    <tr>
        <td align="center" style="padding:24px 12px;">
            <table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;table-layout:fixed;background-color:#ffffff;border:1px solid #dddddd;font-family:Arial,Helvetica,sans-serif;color:#161616;">
                <tr>
                    <td style="padding:20px 32px;border-bottom:4px solid ${couleur};font-size:16px;line-height:24px;">
                        <#if etat><strong style="text-transform:uppercase;">${msg("demarchesRepubliqueFrancaise")}</strong> — </#if><strong>${msg("demarchesServiceTitle")}</strong>
                    </td>
                </tr>
                <tr>
                    <td style="padding:24px 32px 8px;font-size:16px;line-height:24px;overflow-wrap:anywhere;word-wrap:break-word;word-break:break-word;">
                        ${corps?markup_string?replace('class="bouton"', 'style="' + styleBouton + '"')?replace('class="petit"', 'style="font-size:13px;line-height:20px;color:#555555;"')?no_esc}
                    </td>
                </tr>
                <tr>
                    <td style="padding:16px 32px 24px;border-top:1px solid #dddddd;font-size:12px;line-height:18px;color:#666666;">
                        ${msg("demarchesPiedMessage")}<#if etat><br>${msg("demarchesDispositif")}</#if>
                    </td>
                </tr>
            </table>
        </td>
    </tr>
</table>
</body>
</html>
</#macro>
