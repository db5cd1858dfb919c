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
// Cancelled, the focus goes back to the button that asked (RGAA 7.1), not to the page's top.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const dialog = document.getElementById("dialogue-confirmation");
  if (!form.dataset.confirmer || form.dataset.confirme === "oui" || !dialog) {
    return;
  }
  event.preventDefault();
  const opener = event.submitter || document.activeElement;
  document.getElementById("confirmation-message").textContent = form.dataset.confirmer;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue === "confirmer") {
        form.dataset.confirme = "oui";
        form.requestSubmit(event.submitter);
      } else if (opener && opener.focus) {
        opener.focus();
      }
    },
    { once: true },
  );
  dialog.showModal();
});

// An import under way: its page asks where it is every two seconds and moves the bar; the live
// region (read out politely) speaks only at each new tenth of the rows, not at every answer,
// and says « Import terminé » before the page reloads to show the report.
const STEP_PERCENT = 10;
const RELOAD_DELAY_MS = 1500; // the time a screen reader needs to start reading the end

function tenth(done, total) {
  return total > 0 ? Math.floor((done * 100) / total / STEP_PERCENT) : 0;
}

const importState = document.querySelector("[data-import-etat]");
if (importState) {
  const bar = importState.querySelector("progress");
  const status = importState.querySelector("[role='status']");
  let toldStep = tenth(Number(bar.value), Number(bar.max));
  const poll = async () => {
    const answer = await fetch(importState.dataset.importEtat, { credentials: "same-origin" }).catch(
      () => null,
    );
    const state = answer && answer.ok ? await answer.json() : null;
    if (state && state.termine) {
      bar.value = bar.max;
      status.textContent = "Import terminé.";
      window.setTimeout(() => window.location.reload(), RELOAD_DELAY_MS);
      return;
    }
    if (state) {
      bar.max = state.total;
      bar.value = state.traitees;
      bar.textContent = `${state.traitees} sur ${state.total}`;
      const step = tenth(state.traitees, state.total);
      if (step !== toldStep) {
        toldStep = step;
        const plural = state.traitees > 1 ? "s" : "";
        status.textContent = `${state.traitees} ligne${plural} traitée${plural} sur ${state.total}.`;
      }
    }
    window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 2000);
}
