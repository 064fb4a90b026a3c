// Progressive enhancement only: the pages work without this file.
// Copy buttons next to code blocks (shown only when this script runs), and upload progress:
// the upload form's files are sent one by one so each gets a progress bar and its own result.
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
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // One file per request, with the form's other fields; the server answers the API's JSON.
  function sendOne(form, file, row) {
    return new Promise(function (resolve) {
      var data = new FormData();
      Array.prototype.forEach.call(form.elements, function (input) {
        if (!input.name || input.disabled || input.type === 'submit') return;
        if (input.type === 'file') {
          if (input.name !== 'f' && input.files.length) data.append(input.name, input.files[0]);
          return;
        }
        data.append(input.name, input.value);
      });
      data.append('f', file, file.name);
      var bar = row.querySelector('progress');
      var status = row.querySelector('.upload-status');
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', function (ev) {
        if (ev.lengthComputable) { bar.max = ev.total; bar.value = ev.loaded; }
        status.textContent = ev.lengthComputable && ev.loaded >= ev.total ? 'processing…' : 'uploading…';
      });
      xhr.addEventListener('load', function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body) {
          bar.value = bar.max;
          row.classList.add('ok');
          status.textContent = '';
          var link = el('a', '', body.name + ' ' + body.version);
          link.href = '/ui/' + encodeURIComponent(body.provider) + '/' + encodeURIComponent(body.repo) + '/' + encodeURIComponent(body.name);
          status.appendChild(document.createTextNode('stored as '));
          status.appendChild(link);
          status.appendChild(document.createTextNode(' in ' + body.provider + '/' + body.repo));
          resolve(true);
        } else {
          row.classList.add('failed');
          status.className = 'upload-status file-error';
          status.textContent = (body && body.error ? body.error : 'failed (' + xhr.status + ')') + (body && body.code ? ' (' + xhr.status + ' ' + body.code + ')' : '');
          resolve(false);
        }
      });
      xhr.addEventListener('error', function () {
        row.classList.add('failed');
        status.className = 'upload-status file-error';
        status.textContent = 'the connection failed';
        resolve(false);
      });
      xhr.send(data);
    });
  }
  function initUpload() {
    var form = document.querySelector('form.upload-form');
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var list = form.querySelector('.upload-progress');
    var input = form.querySelector('input[type="file"][name="f"]');
    form.addEventListener('submit', function (ev) {
      if (!input.files.length) return;
      ev.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      list.textContent = '';
      var files = Array.prototype.slice.call(input.files);
      var rows = files.map(function (file) {
        var row = el('li', 'upload-row');
        row.appendChild(el('span', 'upload-name', file.name));
        var bar = el('progress');
        bar.max = file.size || 1;
        bar.value = 0;
        bar.setAttribute('aria-label', 'Upload of ' + file.name);
        row.appendChild(bar);
        row.appendChild(el('span', 'upload-status', 'waiting'));
        list.appendChild(row);
        return row;
      });
      // Sequential: each upload is published before the next starts, as the form post does.
      var ok = 0;
      files.reduce(function (p, file, i) {
        return p.then(function () { return sendOne(form, file, rows[i]).then(function (good) { if (good) ok++; }); });
      }, Promise.resolve()).then(function () {
        button.disabled = false;
        list.appendChild(el('li', 'upload-summary', ok + ' of ' + files.length + (files.length === 1 ? ' file' : ' files') + ' uploaded.'));
      });
    });
  }
  function start() {
    init();
    initUpload();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
