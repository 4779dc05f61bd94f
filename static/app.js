// Progressive enhancement only: every page works without this file.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.id !== "logo" || !input.files || !input.files[0]) return;
  var preview = document.getElementById("logo-preview");
  if (!preview) return;
  var img = document.createElement("img");
  img.className = "avatar big";
  img.id = "logo-preview";
  img.alt = "";
  img.src = URL.createObjectURL(input.files[0]);
  preview.replaceWith(img);
});
