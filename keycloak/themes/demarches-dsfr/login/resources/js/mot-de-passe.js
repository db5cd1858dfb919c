// The rules of a new password, checked while the person types (password-commons.ftl, macro
// « regles »). The list itself comes from the realm's policy and is in the page without this
// script; here each rule is marked met or not (DSFR valid / error message, and a state for
// screen readers), and a polite live region says which rules are left. Keycloak still checks
// the password on submit: this only tells earlier.
//
// Markup: div[data-regles-pour=<input id>] with data-identite (ids of inputs the password must
// differ from), the summary texts (data-texte-*); one li[data-regle][data-valeur] per rule, its words in
// .demarches-regle__texte and its state in .demarches-regle__etat; the live region #etat-regles-<input id>.

const checks = {
  longueur: (password, value) => [...password].length >= value,
  "longueur-max": (password, value) => [...password].length <= value,
  majuscule: (password, value) => count(password, (c) => c !== c.toLowerCase()) >= value,
  minuscule: (password, value) => count(password, (c) => c !== c.toUpperCase()) >= value,
  chiffre: (password, value) => count(password, (c) => /[0-9]/.test(c)) >= value,
  // Keycloak counts as special what is neither a letter nor a digit.
  symbole: (password, value) => count(password, (c) => !/[\p{L}\p{N}]/u.test(c)) >= value,
};

function count(text, test) {
  return [...text].filter(test).length;
}

function watch(group) {
  const input = document.getElementById(group.dataset.reglesPour);
  const summary = document.getElementById(`etat-regles-${group.dataset.reglesPour}`);
  if (!input || !summary) {
    return;
  }
  const identityFields = (group.dataset.identite || "")
    .split(" ")
    .map((id) => document.getElementById(id))
    .filter((field) => field);
  // Read at each key: the person may fill the address after the password.
  const identity = () =>
    identityFields.map((field) => field.value.trim().toLowerCase()).filter((v) => v);
  // « Not your login or address » is checked only where the page has those fields
  // (registration); elsewhere it stays a plain rule, which Keycloak checks on submit.
  const rules = [...group.querySelectorAll("[data-regle]")].filter(
    (rule) =>
      !rule.hasAttribute("data-non-verifiable") &&
      (rule.dataset.regle !== "identifiant" || identityFields.length > 0),
  );
  let timer;
  const update = () => {
    const password = input.value;
    const left = [];
    for (const rule of rules) {
      const name = rule.dataset.regle;
      const met =
        name === "identifiant"
          ? password.length > 0 && !identity().includes(password.toLowerCase())
          : checks[name]?.(password, Number(rule.dataset.valeur)) ?? true;
      rule.dataset.respectee = met ? "oui" : "non";
      rule.classList.toggle("fr-message--info", password.length === 0);
      rule.classList.toggle("fr-message--valid", password.length > 0 && met);
      rule.classList.toggle("fr-message--error", password.length > 0 && !met);
      rule.querySelector(".demarches-regle__etat").textContent =
        password.length === 0
          ? ""
          : ` : ${met ? group.dataset.texteRespectee : group.dataset.texteNonRespectee}`;
      if (!met) {
        const words = rule.querySelector(".demarches-regle__texte").textContent.trim();
        left.push(words.charAt(0).toLowerCase() + words.slice(1));
      }
    }
    // The live region speaks once the person pauses, not at every key.
    clearTimeout(timer);
    timer = setTimeout(() => {
      summary.textContent =
        password.length === 0
          ? ""
          : left.length === 0
            ? group.dataset.texteToutes
            : `${group.dataset.texteRestant} ${left.join(", ")}.`;
    }, 400);
  };
  input.addEventListener("input", update);
  if (input.value) {
    update(); // typed (or filled by the browser) before this script ran
  }
}

document.querySelectorAll("[data-regles-pour]").forEach(watch);
