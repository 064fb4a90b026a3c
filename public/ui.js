// Progressive enhancement only: the pages work without this file.
// Copy buttons next to setup snippets: shown only when this script runs.
(function () {
  'use strict';
  function announce(text) {
    var status = document.querySelector('.copy-status');
    if (status) status.textContent = text;
  }
  function fallbackCopy(text) {
    // Older browsers and plain-HTTP origins without the async clipboard API.
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'absolute';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error('copy failed'));
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }
  function init() {
    var buttons = document.querySelectorAll('button.copy[data-copy]');
    Array.prototype.forEach.call(buttons, function (button) {
      var target = document.getElementById(button.getAttribute('data-copy'));
      if (!target) return;
      button.hidden = false;
      button.addEventListener('click', function () {
        copy(target.textContent).then(function () {
          button.textContent = 'Copied';
          button.classList.add('copied');
          announce('Copied to the clipboard.');
          setTimeout(function () { button.textContent = 'Copy'; button.classList.remove('copied'); }, 2000);
        }, function () {
          announce('Could not copy; select the text and copy it by hand.');
        });
      });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
