// Behaviours of our pages, loaded as a file: the content security policy forbids inline scripts.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action='imprimer']");
  if (button) {
    window.print();
  }
});

// A form shown again with its errors: the focus goes to its summary (RGAA 11.10).
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector("[data-focus-au-chargement]");
  if (summary) {
    summary.focus();
  }
});
