// Behaviours of our pages, loaded as a file: the content security policy forbids inline scripts.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action='imprimer']");
  if (button) {
    window.print();
  }
});
