// The HTML report's script (inlined by html.rs): the tag and status
// filters, and the detail shown when a timeline marker or a step is
// hovered or clicked. The page is complete without it; it only hides
// sections and fills each section's .detail.
(function () {
  'use strict';

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // A section's steps and DescribeCustomKeyStores responses, parsed once.
  function data(section) {
    if (!section.hsmdrillData) {
      var el = section.querySelector('script.data');
      section.hsmdrillData = el ? JSON.parse(el.textContent) : { steps: [], entries: [], describes: [] };
    }
    return section.hsmdrillData;
  }

  // Every leaf of a JSON value by path, for comparing two responses.
  function leaves(v, path, out) {
    if (v !== null && typeof v === 'object') {
      var keys = Object.keys(v);
      if (keys.length === 0) out[path] = JSON.stringify(v);
      keys.forEach(function (k) { leaves(v[k], path + '/' + k, out); });
    } else {
      out[path] = JSON.stringify(v);
    }
    return out;
  }

  // `v` pretty-printed, with every leaf that differs from `before` marked.
  function render(v, before, path, indent) {
    var pad = new Array(indent + 1).join('  ');
    if (v !== null && typeof v === 'object') {
      var isArray = Array.isArray(v);
      var keys = Object.keys(v);
      if (keys.length === 0) return isArray ? '[]' : '{}';
      var inner = keys.map(function (k) {
        var label = isArray ? '' : esc(JSON.stringify(k)) + ': ';
        return pad + '  ' + label + render(v[k], before, path + '/' + k, indent + 1);
      });
      return (isArray ? '[' : '{') + '\n' + inner.join(',\n') + '\n' + pad + (isArray ? ']' : '}');
    }
    var text = esc(JSON.stringify(v));
    return before && before[path] !== JSON.stringify(v) ? '<mark>' + text + '</mark>' : text;
  }

  // A recorded response, rebuilt from the section's table of store
  // entries (see `data` in html.rs).
  function response(d, entries) {
    if (d.error !== undefined) return { error: d.error };
    if (!d.stores) return d.rest;
    var r = { CustomKeyStores: d.stores.map(function (i) { return entries[i]; }) };
    Object.keys(d.rest || {}).forEach(function (k) { r[k] = d.rest[k]; });
    return r;
  }

  function show(section, i) {
    var d = data(section);
    var step = d.steps[i];
    var out = section.querySelector('.detail');
    var li = section.querySelector('li[data-step="' + i + '"]');
    if (!step || !out || !li) return;
    section.querySelectorAll('.sel').forEach(function (el) { el.classList.remove('sel'); });
    section.querySelectorAll('[data-step="' + i + '"]').forEach(function (el) { el.classList.add('sel'); });
    var failed = li.classList.contains('failed');
    var html = (failed ? '<b class="fail">failed</b> ' : '') +
      (step[0] !== null ? '<span>clock ' + esc(step[0]) + '</span>' : '') +
      '<pre>' + esc(li.textContent) + '</pre>';
    var from = i > 0 ? d.steps[i - 1][1] : 0, to = step[1];
    var at = function (n) { return response(d.describes[n], d.entries); };
    if (to > from) {
      var cur = at(to - 1);
      var prev = to >= 2 ? leaves(at(to - 2), '', {}) : null;
      var now = leaves(cur, '', {});
      var gone = prev ? Object.keys(prev).filter(function (p) { return !(p in now); }) : [];
      html += 'DescribeCustomKeyStores recorded at this step' +
        (prev ? ' (changes since the previous one are highlighted)' : ' (the first one)') + ':' +
        '<pre>' + render(cur, prev, '', 0) + '</pre>' +
        (gone.length ? '<pre class="gone">' + gone.map(esc).join('\n') + '</pre>' : '');
    } else if (to > 0) {
      html += 'No DescribeCustomKeyStores at this step; the last one (line ' +
        esc(d.describes[to - 1].line) + ') was:<pre>' + render(at(to - 1), null, '', 0) + '</pre>';
    } else {
      html += 'No DescribeCustomKeyStores recorded yet.';
    }
    out.innerHTML = html;
  }

  function stepOf(target) {
    var el = target.closest ? target.closest('[data-step]') : null;
    if (!el) return null;
    var section = el.closest('section.scenario');
    return section ? { section: section, i: Number(el.getAttribute('data-step')) } : null;
  }

  document.addEventListener('click', function (e) {
    var s = stepOf(e.target);
    if (s) show(s.section, s.i);
  });
  document.addEventListener('mouseover', function (e) {
    var s = stepOf(e.target);
    if (s) show(s.section, s.i);
  });
  document.addEventListener('focusin', function (e) {
    var s = stepOf(e.target);
    if (s) show(s.section, s.i);
  });

  // Filters: a section shows when its status matches and it has every
  // checked tag.
  var status = document.getElementById('status');
  var boxes = document.querySelectorAll('#filters input[type=checkbox]');
  var shown = document.getElementById('shown');
  function filter() {
    var want = status ? status.value : 'all';
    var tags = Array.prototype.filter.call(boxes, function (b) { return b.checked; })
      .map(function (b) { return b.value; });
    var sections = document.querySelectorAll('section.scenario');
    var n = 0;
    sections.forEach(function (s) {
      var has = (s.getAttribute('data-tags') || '').split(' ');
      var ok = (want === 'all' || s.getAttribute('data-status') === want) &&
        tags.every(function (t) { return has.indexOf(t) >= 0; });
      s.hidden = !ok;
      if (ok) n += 1;
    });
    if (shown) shown.textContent = n + ' of ' + sections.length + ' shown';
  }
  if (status) status.addEventListener('change', filter);
  boxes.forEach(function (b) { b.addEventListener('change', filter); });
  filter();

  // `#sN:K` opens scenario N with step K selected (links, screenshots).
  var m = /^#s(\d+):(\d+)$/.exec(location.hash);
  var target = m && document.getElementById('s' + m[1]);
  if (target) {
    show(target, Number(m[2]));
    target.scrollIntoView();
  }
})();
