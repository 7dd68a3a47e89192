// Optional: a button that copies the citation. Without scripts, the citation can be selected by hand.
document.addEventListener("DOMContentLoaded", function () {
  var field = document.getElementById("citation");
  if (!field || !navigator.clipboard) return;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "Copy the citation";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
  });
  field.insertAdjacentElement("afterend", button);
});
