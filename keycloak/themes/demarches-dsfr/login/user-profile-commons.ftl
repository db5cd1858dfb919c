<#--
  The realm's declarative user profile as DSFR fields. Same macros and nested callbacks as
  Keycloak's base user-profile-commons.ftl (beforeField / afterField with the attribute), so
  register, login-update-profile, update-email and idp-review-user-profile use it unchanged.
  Field ids and names are the attribute names; errors keep base's ids (input-error-<name>),
  help texts base's ids (form-help-text-before-<name> / form-help-text-after-<name>).
  No HTML « required » attribute: the server checks and answers in French.
-->
<#-- masques: attributes not shown (on registration, the username is the e-mail: see the
     form action demarches-courriel-identifiant). -->
<#macro userProfileFormFields masques=[]>
	<#assign currentGroup="">

	<#list profile.attributes as attribute>

		<#if masques?seq_contains(attribute.name)>
		<#elseif attribute.name=='locale' && realm.internationalizationEnabled && locale.currentLanguageTag?has_content>
			<input type="hidden" id="${attribute.name}" name="${attribute.name}" value="${locale.currentLanguageTag}"/>
		<#else>

			<#assign group = (attribute.group)!"">
			<#if group != currentGroup>
				<#assign currentGroup=group>
				<#if currentGroup != "">
					<div class="demarches-groupe"
					<#list group.html5DataAnnotations as key, value>
						data-${key}="${value}"
					</#list>
					>
						<#assign groupDisplayHeader=group.displayHeader!"">
						<#if groupDisplayHeader != "">
							<#assign groupHeaderText=advancedMsg(groupDisplayHeader)!group>
						<#else>
							<#assign groupHeaderText=group.name!"">
						</#if>
						<h2 id="header-${group.name}" class="fr-h6 fr-mb-1w">${groupHeaderText}</h2>

						<#assign groupDisplayDescription=group.displayDescription!"">
						<#if groupDisplayDescription != "">
							<#assign groupDescriptionText=advancedMsg(groupDisplayDescription)!"">
							<p id="description-${group.name}" class="fr-text--sm">${groupDescriptionText}</p>
						</#if>
					</div>
				</#if>
			</#if>

			<#nested "beforeField" attribute>
			<@field attribute=attribute/>
			<#nested "afterField" attribute>

		</#if>
	</#list>

	<#list profile.html5DataAnnotations?keys as key>
		<script type="module" src="${url.resourcesPath}/js/${key}.js"></script>
	</#list>
</#macro>

<#-- One attribute: a fieldset for radio buttons and checkboxes, an input group otherwise. -->
<#macro field attribute>
	<#local name = attribute.name>
	<#local enErreur = messagesPerField.existsError(name)>
	<#local inputType = attribute.annotations.inputType!''>
	<#if inputType == 'select-radiobuttons' || inputType == 'multiselect-checkboxes'>
		<fieldset id="${name}" class="fr-fieldset<#if enErreur> fr-fieldset--error</#if>" aria-labelledby="${name}-legende<#if enErreur> input-error-${name}</#if>"<#if attribute.required && inputType == 'select-radiobuttons'> role="radiogroup" aria-required="true"</#if>>
			<legend id="${name}-legende" class="fr-fieldset__legend fr-fieldset__legend--regular">
				${advancedMsg(attribute.displayName!'')}<#if attribute.required><@marqueRequis/></#if>
				<@aides attribute=attribute/>
			</legend>
			<@inputTagSelects attribute=attribute/>
			<#if enErreur>
				<div class="fr-messages-group" aria-live="polite">
					<p id="input-error-${name}" class="fr-error-text fr-mt-0 fr-mb-1w">${kcSanitize(messagesPerField.get(name))?no_esc}</p>
				</div>
			</#if>
		</fieldset>
	<#else>
		<#local estListe = inputType == 'select' || inputType == 'multiselect'>
		<div class="<#if estListe>fr-select-group<#if enErreur> fr-select-group--error</#if><#else>fr-input-group<#if enErreur> fr-input-group--error</#if></#if><#if attribute.readOnly> fr-input-group--disabled</#if>">
			<label for="${name}" class="fr-label">
				${advancedMsg(attribute.displayName!'')}<#if attribute.required><@marqueRequis/></#if>
				<@aides attribute=attribute/>
			</label>
			<@inputFieldByType attribute=attribute/>
			<#if enErreur>
				<p id="input-error-${name}" class="${properties.kcInputErrorMessageClass!}" aria-live="polite">${kcSanitize(messagesPerField.get(name))?no_esc}</p>
			</#if>
		</div>
	</#if>
</#macro>

<#macro marqueRequis><span class="demarches-requis" aria-hidden="true">&nbsp;*</span></#macro>

<#-- Help texts (inputHelperTextBefore / After) as DSFR hints, under the label. -->
<#macro aides attribute>
	<#if attribute.annotations.inputHelperTextBefore??>
		<span class="fr-hint-text" id="form-help-text-before-${attribute.name}">${kcSanitize(advancedMsg(attribute.annotations.inputHelperTextBefore))?no_esc}</span>
	</#if>
	<#if attribute.annotations.inputHelperTextAfter??>
		<span class="fr-hint-text" id="form-help-text-after-${attribute.name}">${kcSanitize(advancedMsg(attribute.annotations.inputHelperTextAfter))?no_esc}</span>
	</#if>
</#macro>

<#-- aria-describedby of an input: its help texts and its error. -->
<#function descriptions attribute>
	<#local ids = []>
	<#if attribute.annotations.inputHelperTextBefore??><#local ids = ids + ["form-help-text-before-" + attribute.name]></#if>
	<#if attribute.annotations.inputHelperTextAfter??><#local ids = ids + ["form-help-text-after-" + attribute.name]></#if>
	<#if messagesPerField.existsError(attribute.name)><#local ids = ids + ["input-error-" + attribute.name]></#if>
	<#return ids?join(" ")>
</#function>

<#macro inputFieldByType attribute>
	<#switch attribute.annotations.inputType!''>
	<#case 'textarea'>
		<@textareaTag attribute=attribute/>
		<#break>
	<#case 'select'>
	<#case 'multiselect'>
		<@selectTag attribute=attribute/>
		<#break>
	<#case 'select-radiobuttons'>
	<#case 'multiselect-checkboxes'>
		<@inputTagSelects attribute=attribute/>
		<#break>
	<#default>
		<#if attribute.multivalued && attribute.values?has_content>
			<#list attribute.values as value>
				<@inputTag attribute=attribute value=value!''/>
			</#list>
		<#else>
			<@inputTag attribute=attribute value=(attribute.value!attribute.defaultValue!'')/>
		</#if>
	</#switch>
</#macro>

<#macro inputTag attribute value>
	<#local decrit = descriptions(attribute)>
	<input type="<@inputTagType attribute=attribute/>" id="${attribute.name}" name="${attribute.name}" value="${(value!'')}"
		class="${properties.kcInputClass!}<#if messagesPerField.existsError('${attribute.name}')> ${properties.kcInputErrorClass!}</#if>"
		aria-invalid="<#if messagesPerField.existsError('${attribute.name}')>true</#if>"
		<#if decrit?has_content>aria-describedby="${decrit}"</#if>
		<#if attribute.required>aria-required="true"</#if>
		<#if attribute.readOnly>disabled</#if>
		<#if attribute.autocomplete??>autocomplete="${attribute.autocomplete}"<#elseif attribute.name == 'email'>autocomplete="email"<#elseif attribute.name == 'firstName'>autocomplete="given-name"<#elseif attribute.name == 'lastName'>autocomplete="family-name"</#if>
		<#if attribute.name == 'email'>spellcheck="false" autocapitalize="none"</#if>
		<#if attribute.annotations.inputTypeInputmode??>inputmode="${attribute.annotations.inputTypeInputmode}"</#if>
		<#if attribute.annotations.inputTypePlaceholder??>placeholder="${advancedMsg(attribute.annotations.inputTypePlaceholder)}"</#if>
		<#if attribute.annotations.inputTypePattern??>pattern="${attribute.annotations.inputTypePattern}"</#if>
		<#if attribute.annotations.inputTypeSize??>size="${attribute.annotations.inputTypeSize}"</#if>
		<#if attribute.annotations.inputTypeMaxlength??>maxlength="${attribute.annotations.inputTypeMaxlength}"</#if>
		<#if attribute.annotations.inputTypeMinlength??>minlength="${attribute.annotations.inputTypeMinlength}"</#if>
		<#if attribute.annotations.inputTypeMax??>max="${attribute.annotations.inputTypeMax}"</#if>
		<#if attribute.annotations.inputTypeMin??>min="${attribute.annotations.inputTypeMin}"</#if>
		<#if attribute.annotations.inputTypeStep??>step="${attribute.annotations.inputTypeStep}"</#if>
		<#list attribute.html5DataAnnotations as key, value>
			data-${key}="${value}"
		</#list>
	/>
</#macro>

<#macro inputTagType attribute>
	<#compress>
	<#if attribute.annotations.inputType??>
		<#if attribute.annotations.inputType?starts_with("html5-")>
			${attribute.annotations.inputType[6..]}
		<#else>
			${attribute.annotations.inputType}
		</#if>
	<#else>
	text
	</#if>
	</#compress>
</#macro>

<#macro textareaTag attribute>
	<#local decrit = descriptions(attribute)>
	<textarea id="${attribute.name}" name="${attribute.name}" class="${properties.kcInputClass!}<#if messagesPerField.existsError('${attribute.name}')> ${properties.kcInputErrorClass!}</#if>"
		aria-invalid="<#if messagesPerField.existsError('${attribute.name}')>true</#if>"
		<#if decrit?has_content>aria-describedby="${decrit}"</#if>
		<#if attribute.required>aria-required="true"</#if>
		<#if attribute.readOnly>disabled</#if>
		<#if attribute.annotations.inputTypeCols??>cols="${attribute.annotations.inputTypeCols}"</#if>
		<#if attribute.annotations.inputTypeRows??>rows="${attribute.annotations.inputTypeRows}"</#if>
		<#if attribute.annotations.inputTypeMaxlength??>maxlength="${attribute.annotations.inputTypeMaxlength}"</#if>
	>${(attribute.value!attribute.defaultValue!'')}</textarea>
</#macro>

<#function optionsOf attribute>
	<#if attribute.annotations.inputOptionsFromValidation?? && attribute.validators[attribute.annotations.inputOptionsFromValidation]?? && attribute.validators[attribute.annotations.inputOptionsFromValidation].options??>
		<#return attribute.validators[attribute.annotations.inputOptionsFromValidation].options>
	<#elseif attribute.validators.options?? && attribute.validators.options.options??>
		<#return attribute.validators.options.options>
	<#else>
		<#return []>
	</#if>
</#function>

<#macro selectTag attribute>
	<#local decrit = descriptions(attribute)>
	<select id="${attribute.name}" name="${attribute.name}" class="${properties.kcSelectClass!}"
		aria-invalid="<#if messagesPerField.existsError('${attribute.name}')>true</#if>"
		<#if decrit?has_content>aria-describedby="${decrit}"</#if>
		<#if attribute.required>aria-required="true"</#if>
		<#if attribute.readOnly>disabled</#if>
		<#if attribute.annotations.inputType=='multiselect'>multiple</#if>
		<#if attribute.annotations.inputTypeSize??>size="${attribute.annotations.inputTypeSize}"</#if>
	>
	<#if attribute.annotations.inputType=='select'>
		<option value="" disabled<#if !attribute.values?has_content> selected</#if>>${msg("demarchesSelectionnez")}</option>
	</#if>
	<#list optionsOf(attribute) as option>
		<option value="${option}" <#if attribute.values?seq_contains(option)>selected</#if>><@selectOptionLabelText attribute=attribute option=option/></option>
	</#list>
	</select>
</#macro>

<#macro inputTagSelects attribute>
	<#if attribute.annotations.inputType=='select-radiobuttons'>
		<#assign inputType='radio'>
		<#assign classDiv=properties.kcInputClassRadio!>
		<#assign classInput=properties.kcInputClassRadioInput!>
		<#assign classLabel=properties.kcInputClassRadioLabel!>
	<#else>
		<#assign inputType='checkbox'>
		<#assign classDiv=properties.kcInputClassCheckbox!>
		<#assign classInput=properties.kcInputClassCheckboxInput!>
		<#assign classLabel=properties.kcInputClassCheckboxLabel!>
	</#if>

	<#list optionsOf(attribute) as option>
		<div class="${properties.kcFieldsetElementInlineClass!}">
			<div class="${classDiv}">
				<input type="${inputType}" id="${attribute.name}-${option}" name="${attribute.name}" value="${option}"<#if classInput?has_content> class="${classInput}"</#if>
					aria-invalid="<#if messagesPerField.existsError('${attribute.name}')>true</#if>"
					<#if attribute.readOnly>disabled</#if>
					<#if attribute.values?seq_contains(option)>checked</#if>
				/>
				<label for="${attribute.name}-${option}" class="${classLabel}<#if attribute.readOnly> ${properties.kcInputClassRadioCheckboxLabelDisabled!}</#if>"><@selectOptionLabelText attribute=attribute option=option/></label>
			</div>
		</div>
	</#list>
</#macro>

<#macro selectOptionLabelText attribute option>
	<#compress>
	<#if attribute.annotations.inputOptionLabels??>
		${advancedMsg(attribute.annotations.inputOptionLabels[option]!option)}
	<#else>
		<#if attribute.annotations.inputOptionLabelsI18nPrefix??>
			${msg(attribute.annotations.inputOptionLabelsI18nPrefix + '.' + option)}
		<#else>
			${option}
		</#if>
	</#if>
	</#compress>
</#macro>
