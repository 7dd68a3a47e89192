// Optional: buttons that copy the citations. Without scripts, they can be selected by hand.
document.addEventListener("DOMContentLoaded", function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("textarea.copy").forEach(function (field) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Copy";
    button.setAttribute("aria-describedby", field.id);  // "Copy", described by what it copies
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
    });
    field.insertAdjacentElement("afterend", button);
  });
});
// Printing shows folded parts unfolded.
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("details.folded:not([open])").forEach(function (folded) {
    folded.setAttribute("open", "");
    folded.dataset.printed = "1";
  });
});
window.addEventListener("afterprint", function () {
  document.querySelectorAll("details.folded[data-printed]").forEach(function (folded) {
    folded.removeAttribute("open");
    delete folded.dataset.printed;
  });
});
