/* The print version of the reading view: the "Imprimer" button (hidden without JavaScript: the browser's own
   print command still works) opens the print dialog. */
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
