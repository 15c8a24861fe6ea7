// Guestbook page script: progressive enhancement only. Without it the form
// posts to /post and the page reloads. With it, posting goes to the v1 API
// without a reload, errors show next to the fields, and the newest messages
// are polled with If-None-Match so messages posted elsewhere appear within
// a few seconds. Everything talks to this page's own origin.
(function () {
  'use strict';

  var API = '/api/v1/messages';
  var POLL_MS = 2500;
  var MAX_BACKOFF_MS = 30000;

  var form = document.getElementById('post-form');
  var list = document.getElementById('messages');
  var pager = document.getElementById('pager');
  var status = document.getElementById('live-status');
  var formAlert = document.getElementById('form-alert');
  if (!form || !list) return;

  var live = list.getAttribute('data-live') === 'true';
  var etag = null;
  var pollTimer = null;
  var failures = 0;

  // Mirrors plugins/web/relative_time.c.
  var UNITS = [
    [365 * 86400, 'year'], [30 * 86400, 'month'], [86400, 'day'],
    [3600, 'hour'], [60, 'minute']
  ];
  function relativeTime(nowMs, thenMs) {
    var diff = (nowMs - thenMs) / 1000;
    for (var i = 0; i < UNITS.length; i++) {
      if (diff >= UNITS[i][0]) {
        var n = Math.floor(diff / UNITS[i][0]);
        return n + ' ' + UNITS[i][1] + (n === 1 ? '' : 's') + ' ago';
      }
    }
    return 'just now';
  }

  function refreshTimes() {
    var now = Date.now();
    var times = list.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var t = Date.parse(times[i].getAttribute('datetime'));
      if (!isNaN(t)) times[i].textContent = relativeTime(now, t);
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Mirrors initial_of() in plugins/web/web.c.
  function initialOf(name) {
    var first = Array.from(name)[0] || '';
    return /^[a-z]$/.test(first) ? first.toUpperCase() : first;
  }

  function card(m, isNew) {
    var article = el('article', 'card' + (isNew ? ' is-new' : ''));
    // A legacy backend has no ids: no anchor, a key of time and author.
    if (m.id !== null) {
      article.id = 'm-' + m.id;
      article.setAttribute('data-id', m.id);
    } else {
      article.setAttribute('data-key', keyOf(m));
    }
    var head = el('header', 'card-head');
    var avatar = el('span', 'avatar', initialOf(m.author));
    avatar.setAttribute('aria-hidden', 'true');
    head.appendChild(avatar);
    head.appendChild(el('h3', 'author', m.author));
    var time = el('time', 'when', relativeTime(Date.now(), Date.parse(m.created_at)));
    time.setAttribute('datetime', m.created_at);
    time.title = m.created_at;
    head.appendChild(time);
    article.appendChild(head);
    article.appendChild(el('p', 'text', m.message));
    return article;
  }

  // Mirrors the key of card_noid.html (plugins/web/web.c).
  function keyOf(m) {
    return m.id !== null ? m.id : m.created_at + '|' + m.author;
  }

  function shownIds() {
    var ids = {};
    var cards = list.querySelectorAll('.card[data-id], .card[data-key]');
    for (var i = 0; i < cards.length; i++) {
      var c = cards[i];
      ids[c.getAttribute('data-id') || c.getAttribute('data-key')] = true;
    }
    return ids;
  }

  function renderList(data) {
    var before = shownIds();
    var hadCards = Object.keys(before).length > 0;
    var fragment = document.createDocumentFragment();
    var fresh = [];
    data.messages.forEach(function (m) {
      var isNew = hadCards && !before[keyOf(m)];
      if (isNew) fresh.push(m);
      fragment.appendChild(card(m, isNew));
    });
    if (data.messages.length === 0) {
      var empty = el('p', 'empty', 'No messages are logged to the guestbook yet.');
      empty.id = 'empty';
      fragment.appendChild(empty);
    }
    list.replaceChildren(fragment);
    if (pager) {
      pager.replaceChildren();
      if (data.next_cursor) {
        var older = el('a', 'older', 'Older messages');
        older.href = '/?before=' + encodeURIComponent(data.next_cursor);
        older.rel = 'next';
        pager.appendChild(older);
      }
    }
    if (fresh.length === 1) {
      announce('New message from ' + fresh[0].author + '.');
    } else if (fresh.length > 1) {
      announce(fresh.length + ' new messages.');
    }
  }

  function announce(text) {
    if (!status) return;
    status.textContent = '';
    // A change after a tick makes screen readers read it again.
    setTimeout(function () { status.textContent = text; }, 50);
  }

  function poll() {
    clearTimeout(pollTimer);
    pollTimer = null;
    if (document.hidden) return;
    var headers = { 'Accept': 'application/json' };
    if (etag) headers['If-None-Match'] = etag;
    return fetch(API + '?limit=20', { headers: headers, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 304) return null;
        if (!res.ok) throw new Error('HTTP ' + res.status);
        etag = res.headers.get('ETag');
        return res.json();
      })
      .then(function (data) {
        failures = 0;
        if (data && Array.isArray(data.messages)) renderList(data);
        refreshTimes();
      })
      .catch(function () { failures++; })
      .then(schedule);
  }

  function schedule() {
    if (!live || document.hidden) return;
    clearTimeout(pollTimer);
    var delay = Math.min(POLL_MS * Math.pow(2, failures), MAX_BACKOFF_MS);
    pollTimer = setTimeout(poll, delay);
  }

  // ---- posting -----------------------------------------------------------

  var fields = { author: form.elements.name, message: form.elements.message };
  var button = document.getElementById('post-button');

  function setFieldError(key, text) {
    var input = fields[key];
    if (!input) return;
    var slot = document.getElementById(input.id + '-error');
    input.setAttribute('aria-invalid', text ? 'true' : 'false');
    if (!slot) return;
    slot.replaceChildren();
    if (text) slot.appendChild(el('p', 'field-error', text));
  }

  function setAlert(text) {
    formAlert.replaceChildren();
    if (text) formAlert.appendChild(el('p', 'alert', text));
  }

  function clearErrors() {
    setFieldError('author', '');
    setFieldError('message', '');
    setAlert('');
  }

  // "author must be ..." -> "Your name must be ..." as the page says it.
  function fieldText(field, message) {
    var noun = field === 'author' ? 'name' : 'message';
    if (message && message.indexOf(field) === 0) {
      return 'Your ' + noun + message.slice(field.length);
    }
    return message || ('Please check your ' + noun + '.');
  }

  function showError(res, body) {
    var e = (body && body.error) || {};
    if (res.status === 422 && fields[e.field]) {
      setFieldError(e.field, fieldText(e.field, e.message));
      setAlert('Your message was not posted. Please correct the marked fields.');
      fields[e.field].focus();
    } else if (res.status === 429) {
      var wait = parseInt(res.headers.get('Retry-After'), 10) || 5;
      setAlert('You are posting too quickly. Please wait ' + wait +
        ' second' + (wait === 1 ? '' : 's') + ' and try again.');
    } else if (res.status === 503) {
      setAlert('Your message could not be saved because the guestbook is ' +
        'temporarily unavailable. Please try again in a few seconds.');
    } else {
      setAlert('Your message was not posted: ' +
        (e.message || ('the server answered ' + res.status)) + '.');
    }
  }

  // One Idempotency-Key per message: sending the same text again after a
  // lost answer reuses it, so the server stores the message once.
  var pending = { body: null, key: null };
  function keyFor(body) {
    if (pending.body !== body) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      pending.body = body;
      pending.key = Array.from(bytes, function (b) {
        return (b < 16 ? '0' : '') + b.toString(16);
      }).join('');
    }
    return pending.key;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors();
    button.disabled = true;
    var payload = { author: fields.author.value, message: fields.message.value };
    var body = JSON.stringify(payload);
    fetch(API, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json', 'Accept': 'application/json',
        'Idempotency-Key': keyFor(body)
      },
      body: body
    }).then(function (res) {
      if (res.status === 404 || res.status === 405) {
        // No v1 API next to this page: post the plain form instead.
        form.submit();
        return;
      }
      return res.json().catch(function () { return null; }).then(function (body) {
        if (res.status === 201) {
          pending.body = null;
          fields.message.value = '';
          announce('Your message was posted.');
          if (!live) {
            window.location.assign('/');
            return;
          }
          etag = null;
          return poll();
        }
        showError(res, body);
      });
    }).catch(function () {
      setAlert('The guestbook could not be reached. Check your connection ' +
        'and try again.');
    }).then(function () {
      button.disabled = false;
    });
  });

  ['author', 'message'].forEach(function (key) {
    fields[key].addEventListener('input', function () {
      if (fields[key].getAttribute('aria-invalid') === 'true') setFieldError(key, '');
    });
  });

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && live) poll();
  });

  setInterval(refreshTimes, 30000);
  refreshTimes();
  schedule();
})();
