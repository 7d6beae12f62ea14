// Plain JavaScript, no build step. Pages work without it; it adds Telegram's theme and the
// Mini App sign-in (Telegram passes initData and theme in the page's #hash).
(function () {
  "use strict";
  var hash = new URLSearchParams(window.location.hash.slice(1));
  var theme = hash.get("tgWebAppThemeParams");
  try {
    if (theme) sessionStorage.setItem("tgTheme", theme);
    else theme = sessionStorage.getItem("tgTheme");
    if (theme) {
      var params = JSON.parse(theme);
      Object.keys(params).forEach(function (key) {
        var name = "--tg-theme-" + key.replace(/_/g, "-");
        if (/^#[0-9a-fA-F]{3,8}$/.test(params[key])) {
          document.documentElement.style.setProperty(name, params[key]);
        }
      });
    }
  } catch (e) { /* a bad theme is no reason to stop */ }

  var status = document.querySelector("[data-tg-login]");
  if (!status) return;
  var initData = hash.get("tgWebAppData") ||
    (window.Telegram && window.Telegram.WebApp && window.Telegram.WebApp.initData) || "";
  if (!initData) {
    status.textContent = "Open this page from the bot's button in Telegram, or send " +
      (status.dataset.appCommand || "/app") + " for a login link.";
    return;
  }
  var body = new URLSearchParams();
  body.set("init_data", initData);
  fetch("/auth/telegram", { method: "POST", body: body, credentials: "same-origin" })
    .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
    .then(function (res) {
      if (res[0]) window.location.replace(res[1].next || "/");
      else status.textContent = "Telegram's sign-in did not work (" + res[1].error + "). Close and open the app again.";
    })
    .catch(function () { status.textContent = "Could not reach the server. Try again."; });
})();
