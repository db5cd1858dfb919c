// Behaviours of our pages, loaded as a file: the content security policy forbids inline scripts.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action='imprimer']");
  if (button) {
    window.print();
  }
});

// A form shown again with its errors: the focus goes to its summary when it has one, else to
// its first field in error (RGAA 11.10), so that a screen reader starts there.
const FIELDS = "input:not([type=hidden]), select, textarea";

function firstError() {
  const summary = document.querySelector("[data-focus-au-chargement], [aria-invalid='true']");
  if (summary) {
    return summary;
  }
  const group = document.querySelector(
    ".fr-input-group--error, .fr-select-group--error, .fr-fieldset--error",
  );
  return group ? group.querySelector(FIELDS) : null;
}

document.addEventListener("DOMContentLoaded", () => {
  const target = firstError();
  if (target) {
    target.focus();
  }
});

// Nothing that cannot be undone in one click: a form marked data-confirmer asks first, in a
// modal dialog (the browser keeps the focus in it; Échap cancels; « Annuler » has the focus).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const dialog = document.getElementById("dialogue-confirmation");
  if (!form.dataset.confirmer || form.dataset.confirme === "oui" || !dialog) {
    return;
  }
  event.preventDefault();
  document.getElementById("confirmation-message").textContent = form.dataset.confirmer;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue === "confirmer") {
        form.dataset.confirme = "oui";
        form.requestSubmit();
      }
    },
    { once: true },
  );
  dialog.showModal();
});

// An import under way: its page asks where it is every two seconds, moves the bar and says
// it in the live region (read out politely), and shows the report once it is finished.
const importState = document.querySelector("[data-import-etat]");
if (importState) {
  const bar = importState.querySelector("progress");
  const status = importState.querySelector("[role='status']");
  const poll = async () => {
    const answer = await fetch(importState.dataset.importEtat, { credentials: "same-origin" }).catch(
      () => null,
    );
    const state = answer && answer.ok ? await answer.json() : null;
    if (state && state.termine) {
      window.location.reload();
      return;
    }
    if (state) {
      bar.max = state.total;
      bar.value = state.traitees;
      bar.textContent = `${state.traitees} sur ${state.total}`;
      const plural = state.traitees > 1 ? "s" : "";
      status.textContent = `${state.traitees} ligne${plural} traitée${plural} sur ${state.total}.`;
    }
    window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 2000);
}
