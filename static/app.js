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

// An account's head image that cannot be loaded (e.g. WeChat's image host is out of
// reach) falls back to the initial on a colour, like the default workspace logo.
document.addEventListener("error", function (event) {
  var img = event.target;
  if (!(img instanceof HTMLImageElement) || !img.dataset.fallback) return;
  var span = document.createElement("span");
  // The colour is a class (data-class): the Content-Security-Policy allows no inline style.
  span.className = img.className + " " + (img.dataset.class || "avatar-grey");
  span.setAttribute("aria-hidden", "true");
  span.textContent = img.dataset.fallback;
  img.replaceWith(span);
}, true);
