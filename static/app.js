// chatd's web client: the AWS tutorial's "Everyone" broadcast (sendmessage) and the rooms app
// (createRoom, joinRoom, sendMessage, leaveRoom, listRooms, getMessages) over one WebSocket.
// It works against chatd and against a deployed API Gateway alike: everything it needs is the
// endpoint URL. Text from the network is only ever rendered with textContent, never as HTML.
import { ReconnectingSocket } from './socket.js';

const $ = (id) => document.getElementById(id);
const EVERYONE = '';
const HISTORY_PAGE = 50;
const ACK_TIMEOUT_MS = 10000;
const MAX_MESSAGE_BYTES = 8192;
const STORAGE_KEY = 'chatd.client';

// ---- state -----------------------------------------------------------------------------

const state = {
  status: 'disconnected',
  me: null, // our connectionId, learned from the first acknowledgement
  current: EVERYONE,
  everyone: newView(),
  rooms: new Map(), // roomId -> view, for the rooms this tab has joined
  serverRooms: [], // the latest listRooms answer
  refs: 0,
  pending: new Map(), // ref -> { kind, roomId, item }
};

function newView() {
  return { joined: false, members: [], messages: [], hasMore: false, unread: 0, loadingOlder: false };
}

function viewOf(roomId) { return roomId === EVERYONE ? state.everyone : state.rooms.get(roomId); }

function saved() {
  try { return JSON.parse(localStorage.getItem(STORAGE_KEY)) ?? {}; } catch { return {}; }
}

function save() {
  const data = {
    endpoint: $('endpoint').value.trim(),
    name: $('name').value.trim(),
    rooms: [...state.rooms.keys()],
    current: state.current,
  };
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify(data)); } catch { /* private mode */ }
}

// ---- the connection --------------------------------------------------------------------

const socket = new ReconnectingSocket({
  onstate: onSocketState,
  onopen: onOpen,
  onmessage: onFrame,
  onclose: onClose,
});

function endpointFor(stage) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/${stage}`;
}

/// The endpoint /chatd.json names: its `endpoint` (a wss:// URL, as a deployment publishes
/// next to the client on S3), else this host with its `stage` (chatd serving the page), else
/// this host's "dev" stage.
async function servedEndpoint() {
  try {
    const res = await fetch('chatd.json', { cache: 'no-store' });
    if (res.ok) {
      const info = await res.json();
      if (typeof info.endpoint === 'string' && /^wss?:\/\/[^\s]+$/.test(info.endpoint)) return info.endpoint;
      if (typeof info.stage === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(info.stage)) return endpointFor(info.stage);
    }
  } catch { /* not served by chatd */ }
  return endpointFor('dev');
}

function connectUrl() {
  const base = $('endpoint').value.trim();
  const name = $('name').value.trim();
  if (!name) return base;
  return `${base}${base.includes('?') ? '&' : '?'}name=${encodeURIComponent(name)}`;
}

function connect(event) {
  event?.preventDefault();
  const name = $('name').value.trim();
  // chatd's rule for names (a deployed API may have none; it would ignore the parameter).
  if (name && (/[\u0000-\u001f\u007f]/.test(name) || [...name].length > 32)) {
    showError('A display name is 1 to 32 characters without control characters.');
    return;
  }
  hideError();
  save();
  socket.connect(connectUrl());
}

const closeReasons = {
  1000: 'closed normally',
  1001: 'the server went away (shut down, or the connection was idle too long)',
  1003: 'the server does not accept binary frames',
  1006: 'the connection was lost',
  1007: 'the server received invalid UTF-8',
  1008: 'the server refused a message (policy)',
  1009: 'a message was too big for the server',
  1011: 'the server hit an internal error',
};

function describeClose(code, reason) {
  const words = closeReasons[code] ?? 'closed';
  return `${words} (code ${code}${reason ? `: ${reason}` : ''})`;
}

function onSocketState(s) {
  state.status = s.state;
  const el = $('status');
  el.dataset.state = s.state;
  if (s.state === 'connecting') el.textContent = 'Connecting…';
  else if (s.state === 'connected') el.textContent = 'Connected';
  else if (s.state === 'disconnected') el.textContent = 'Disconnected';
  else if (s.state === 'reconnecting') {
    el.textContent = s.delayMs === undefined
      ? `Reconnecting… (attempt ${s.attempt})`
      : `Reconnecting in ${Math.max(1, Math.round(s.delayMs / 1000))} s (attempt ${s.attempt})`;
  }
  if (s.error) showError(s.error);
  const online = s.state === 'connected';
  $('text').disabled = !online;
  $('send-button').disabled = !online;
  $('connect-button').textContent = s.state === 'disconnected' ? 'Connect' : 'Reconnect';
  $('disconnect-button').disabled = s.state === 'disconnected';
  if (!online) {
    for (const v of state.rooms.values()) { v.joined = false; v.members = []; }
    failPending('not sent: the connection dropped before the server confirmed it');
  }
  render();
}

function onOpen() {
  hideError();
  request({ action: 'listRooms' });
  // The server forgets memberships when a connection ends: join again what this tab had open.
  for (const roomId of state.rooms.keys()) request({ action: 'joinRoom', roomId });
}

function onClose({ code, reason, opened }) {
  if (!opened) {
    showError(`Could not connect to ${$('endpoint').value.trim()}: check the address` +
      ' (a server that refuses the handshake, for example over an invalid name, looks the same to a browser).');
  } else if (code !== 1000) {
    showError(`Disconnected: ${describeClose(code, reason)}.`);
  }
}

/// Send a request with a fresh ref; returns the ref, or null when offline.
function request(body) {
  const ref = `c${++state.refs}`;
  return socket.send(JSON.stringify({ ...body, ref })) ? ref : null;
}

// ---- frames from the server ------------------------------------------------------------

function onFrame(text) {
  let f = null;
  try { f = JSON.parse(text); } catch { /* raw text */ }
  if (f && typeof f === 'object' && !Array.isArray(f) && typeof f.type === 'string') return onTyped(f);
  if (f && typeof f === 'object' && !Array.isArray(f) && typeof f.message === 'string' &&
      typeof f.requestId === 'string' && f.type === undefined) {
    // API Gateway's own frames: {"message":"Forbidden"|"Internal server error"|..., "connectionId", "requestId"}.
    return showError(gatewayError(f.message));
  }
  // The tutorial's sendmessage delivers the sender's text as it is, to everyone.
  addMessage(EVERYONE, { text: String(text), at: new Date() });
}

function gatewayError(message) {
  if (message === 'Forbidden') return 'The endpoint has no route for that request (API Gateway answered "Forbidden").';
  if (message === 'Internal server error') return 'The backend failed while handling that request ("Internal server error").';
  if (message === 'Endpoint request timed out') return 'The backend did not answer in time ("Endpoint request timed out").';
  return `The endpoint answered: ${message}`;
}

function onTyped(f) {
  switch (f.type) {
    case 'rooms':
      state.serverRooms = Array.isArray(f.rooms) ? f.rooms : [];
      return render();
    case 'roomCreated':
      request({ action: 'joinRoom', roomId: f.roomId });
      return request({ action: 'listRooms' });
    case 'joined': return onJoined(f);
    case 'memberJoined': {
      const v = state.rooms.get(f.roomId);
      if (!v) return;
      if (!v.members.some((m) => m.connectionId === f.connectionId)) v.members.push({ connectionId: f.connectionId, name: f.name });
      syncCount(f.roomId, v);
      return render();
    }
    case 'memberLeft': {
      const v = state.rooms.get(f.roomId);
      if (!v) return;
      v.members = v.members.filter((m) => m.connectionId !== f.connectionId);
      syncCount(f.roomId, v);
      return render();
    }
    case 'left':
      state.rooms.delete(f.roomId);
      if (state.current === f.roomId) state.current = EVERYONE;
      save();
      request({ action: 'listRooms' });
      return render();
    case 'message': return onMessage(f);
    case 'messages': return onHistory(f);
    case 'error': return onError(f);
    default: return undefined;
  }
}

/// Keep the room list's count in step with a member list we follow live.
function syncCount(roomId, v) {
  const r = state.serverRooms.find((x) => x.roomId === roomId);
  if (r) r.members = v.members.length;
}

function fromWire(m) {
  return { seq: m.seq, name: m.name, connectionId: m.connectionId, text: m.message, at: new Date(m.sentAt) };
}

/// Merge stored messages (each with a seq) into a view, keeping local pending ones at the end.
function mergeStored(v, incoming) {
  const bySeq = new Map(v.messages.filter((m) => m.seq !== undefined).map((m) => [m.seq, m]));
  for (const m of incoming) bySeq.set(m.seq, m);
  const stored = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const local = v.messages.filter((m) => m.seq === undefined);
  v.messages = stored.concat(local);
}

function onJoined(f) {
  const first = !state.rooms.has(f.roomId);
  const v = state.rooms.get(f.roomId) ?? newView();
  state.rooms.set(f.roomId, v);
  v.joined = true;
  v.members = Array.isArray(f.members) ? f.members : [];
  syncCount(f.roomId, v);
  const recent = (f.recent ?? []).map(fromWire);
  const newest = v.messages.filter((m) => m.seq !== undefined).at(-1)?.seq ?? 0;
  // After a reconnect: keep what we had only when it joins up with the fresh page.
  if (recent.length && newest < recent[0].seq - 1) v.messages = v.messages.filter((m) => m.seq === undefined);
  mergeStored(v, recent);
  v.hasMore = (v.messages.find((m) => m.seq !== undefined)?.seq ?? 1) > 1;
  if (first) { state.current = f.roomId; v.unread = 0; }
  save();
  render({ stickToBottom: true });
}

function onMessage(f) {
  const v = state.rooms.get(f.roomId);
  if (!v) return;
  const p = f.ref ? state.pending.get(f.ref) : undefined;
  if (p) {
    // Our own message, now stored: it replaces the pending copy.
    state.pending.delete(f.ref);
    clearTimeout(p.timer);
    state.me = f.connectionId;
    v.messages = v.messages.filter((m) => m !== p.item);
    mergeStored(v, [fromWire(f)]);
    return render({ stickToBottom: true });
  }
  addStored(f.roomId, fromWire(f));
}

function onHistory(f) {
  const v = state.rooms.get(f.roomId);
  if (!v) return;
  v.loadingOlder = false;
  mergeStored(v, (f.messages ?? []).map(fromWire));
  v.hasMore = Boolean(f.hasMore);
  render({ keepPosition: true });
}

function onError(f) {
  const p = f.ref ? state.pending.get(f.ref) : undefined;
  if (p) {
    state.pending.delete(f.ref);
    clearTimeout(p.timer);
    p.item.failed = `not sent: ${f.message}`;
  }
  if (f.action === 'getMessages' && f.roomId) {
    const v = state.rooms.get(f.roomId);
    if (v) v.loadingOlder = false;
  }
  if (f.action === 'joinRoom' && f.code === 'RoomNotFound') {
    // A room remembered from an earlier visit that no longer exists.
    for (const [id, v] of state.rooms) if (!v.joined && f.message.includes(`'${id}'`)) state.rooms.delete(id);
    save();
  }
  showError(`${f.message} (${f.code})`);
  render();
}

function failPending(reason) {
  for (const p of state.pending.values()) {
    clearTimeout(p.timer);
    p.item.failed = reason;
  }
  state.pending.clear();
}

// ---- messages --------------------------------------------------------------------------

function addMessage(roomId, item) {
  const v = viewOf(roomId);
  v.messages.push(item);
  if (v.messages.length > 2000) v.messages.splice(0, v.messages.length - 2000);
  if (roomId !== state.current || document.hidden) v.unread += 1;
  render({ stickToBottom: roomId === state.current });
}

function addStored(roomId, item) {
  const v = viewOf(roomId);
  mergeStored(v, [item]);
  if (roomId !== state.current || document.hidden) v.unread += 1;
  render({ stickToBottom: roomId === state.current });
}

function onSend(event) {
  event.preventDefault();
  const input = $('text');
  const text = input.value;
  if (!text.trim()) return;
  if (new TextEncoder().encode(text).length > MAX_MESSAGE_BYTES) {
    showError(`That message is over ${MAX_MESSAGE_BYTES} bytes; shorten it.`);
    return;
  }
  hideError();
  if (!sendText(state.current, text)) return;
  input.value = '';
}

function sendText(roomId, text) {
  if (roomId === EVERYONE) {
    // The tutorial's route: the text comes back to everyone, us included.
    if (!request({ action: 'sendmessage', message: text })) { showError('Not connected.'); return false; }
    return true;
  }
  const item = { text, at: new Date(), name: $('name').value.trim() || 'you', pending: true };
  const ref = request({ action: 'sendMessage', roomId, message: text });
  if (!ref) { showError('Not connected.'); return false; }
  const v = state.rooms.get(roomId);
  v.messages.push(item);
  const timer = setTimeout(() => {
    if (!state.pending.has(ref)) return;
    state.pending.delete(ref);
    item.failed = 'not confirmed: the server did not acknowledge it in time';
    render();
  }, ACK_TIMEOUT_MS);
  state.pending.set(ref, { roomId, item, timer });
  render({ stickToBottom: true });
  return true;
}

function retry(roomId, item) {
  const v = viewOf(roomId);
  v.messages = v.messages.filter((m) => m !== item);
  sendText(roomId, item.text);
}

function loadOlder() {
  const v = viewOf(state.current);
  if (state.current === EVERYONE || !v?.hasMore || v.loadingOlder || !v.joined) return;
  const oldest = v.messages.find((m) => m.seq !== undefined)?.seq;
  const ref = request({ action: 'getMessages', roomId: state.current, limit: HISTORY_PAGE, ...(oldest ? { before: oldest } : {}) });
  if (ref) { v.loadingOlder = true; render(); }
}

// ---- rendering -------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children);
  return node;
}

function select(roomId) {
  state.current = roomId;
  // On a phone the room list covers the conversation: fold it away once a room is chosen.
  $('toggle-nav').setAttribute('aria-expanded', 'false');
  document.body.classList.remove('nav-open');
  const v = viewOf(roomId);
  if (v) v.unread = 0;
  save();
  render({ stickToBottom: true });
  $('text').focus();
}

function render({ stickToBottom = false, keepPosition = false } = {}) {
  const scroller = $('scroller');
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  const heightBefore = scroller.scrollHeight;
  const topBefore = scroller.scrollTop;

  if (state.current !== EVERYONE && !state.rooms.has(state.current)) state.current = EVERYONE;
  const v = viewOf(state.current);
  if (!document.hidden) v.unread = 0;

  // Joined views, with unread counts.
  const views = [[EVERYONE, state.everyone], ...state.rooms];
  $('views').replaceChildren(...views.map(([id, view]) => {
    const label = id === EVERYONE ? 'Everyone' : `# ${id}`;
    const unread = view.unread > 0 ? el('span', { class: 'badge', 'aria-hidden': 'true', text: String(view.unread) }) : '';
    const b = el('button', {
      type: 'button',
      class: 'view',
      'aria-current': id === state.current ? 'true' : false,
      'aria-label': view.unread > 0 ? `${label}, ${view.unread} unread` : label,
      'data-room': id,
      onclick: () => select(id),
    }, el('span', { class: 'view-name', text: label }), unread);
    return el('li', {}, b);
  }));

  // Rooms on the server.
  $('room-list').replaceChildren(...state.serverRooms.map((r) => {
    const joined = state.rooms.has(r.roomId);
    const b = el('button', {
      type: 'button',
      'data-room': r.roomId,
      onclick: () => (joined ? select(r.roomId) : request({ action: 'joinRoom', roomId: r.roomId })),
    }, el('span', { class: 'view-name', text: r.roomId }),
    el('span', { class: 'count', text: `${r.members} online` }));
    b.setAttribute('aria-label', `${joined ? 'Open' : 'Join'} ${r.roomId}, ${r.members} online`);
    return el('li', {}, b);
  }));
  if (!state.serverRooms.length) $('room-list').append(el('li', { class: 'empty', text: 'No rooms yet: create one.' }));

  // The conversation.
  const everyone = state.current === EVERYONE;
  $('view-title').textContent = everyone ? 'Everyone' : `# ${state.current}`;
  $('view-help').textContent = everyone
    ? 'Broadcast to every connection (the tutorial\'s sendmessage route). Not stored.'
    : v.joined ? '' : 'Not joined right now: waiting for the connection.';
  $('leave').hidden = everyone;
  $('members-box').hidden = everyone;
  if (!everyone) {
    $('members-heading').textContent = `Members (${v.members.length})`;
    $('members').replaceChildren(...v.members.map((m) => el('li', {
      text: m.connectionId === state.me ? `${m.name} (you)` : m.name,
      'data-connection': m.connectionId,
    })));
  }
  $('older').hidden = everyone || !v.hasMore;
  $('older').disabled = v.loadingOlder;
  $('older').textContent = v.loadingOlder ? 'Loading…' : 'Load older messages';
  $('text').placeholder = everyone ? 'Message everyone and press Enter' : `Message #${state.current} and press Enter`;

  $('messages').replaceChildren(...v.messages.map((m) => renderMessage(m)));

  if (keepPosition) scroller.scrollTop = topBefore + (scroller.scrollHeight - heightBefore);
  else if (stickToBottom || atBottom) scroller.scrollTop = scroller.scrollHeight;
}

function renderMessage(m) {
  const li = el('li', { class: `message${m.pending ? ' pending' : ''}${m.failed ? ' failed' : ''}` });
  if (m.seq !== undefined) li.dataset.seq = String(m.seq);
  const time = el('time', {
    datetime: m.at.toISOString(),
    title: m.at.toLocaleString(),
    text: m.at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
  });
  const head = el('div', { class: 'meta' }, time);
  if (m.name) head.append(' ', el('span', { class: 'author', text: m.connectionId && m.connectionId === state.me ? `${m.name} (you)` : m.name }));
  li.append(head, el('p', { class: 'text', text: m.text }));
  if (m.pending && !m.failed) li.append(el('span', { class: 'note', text: 'sending…' }));
  if (m.failed) {
    const roomId = state.current;
    li.append(el('span', { class: 'note', text: m.failed }), ' ',
      el('button', { type: 'button', class: 'retry', onclick: () => retry(roomId, m) , text: 'Retry' }));
  }
  return li;
}

function showError(text) {
  $('error-text').textContent = text;
  $('error').hidden = false;
}

function hideError() { $('error').hidden = true; }

// ---- wiring ----------------------------------------------------------------------------

async function start() {
  const s = saved();
  // A first guess right away; the stage is asked for below, after the controls work.
  const guess = endpointFor('dev');
  $('endpoint').value = s.endpoint || guess;
  $('name').value = s.name || '';
  for (const roomId of Array.isArray(s.rooms) ? s.rooms : []) if (typeof roomId === 'string') state.rooms.set(roomId, newView());
  if (typeof s.current === 'string' && (s.current === EVERYONE || state.rooms.has(s.current))) state.current = s.current;

  $('connect-form').addEventListener('submit', connect);
  $('disconnect-button').addEventListener('click', () => socket.disconnect());
  $('send-form').addEventListener('submit', onSend);
  $('create-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('new-room');
    if (!input.checkValidity()) { showError(`A room id is ${input.title}.`); return; }
    const id = input.value.trim();
    request(id ? { action: 'createRoom', roomId: id } : { action: 'createRoom' });
    input.value = '';
  });
  $('refresh-rooms').addEventListener('click', () => request({ action: 'listRooms' }));
  $('older').addEventListener('click', loadOlder);
  $('scroller').addEventListener('scroll', () => { if ($('scroller').scrollTop < 40) loadOlder(); });
  $('leave').addEventListener('click', () => {
    const roomId = state.current;
    if (!request({ action: 'leaveRoom', roomId })) {
      // Offline: just forget it here; the server has already dropped the membership.
      state.rooms.delete(roomId);
      save();
      render();
    }
  });
  $('error-dismiss').addEventListener('click', hideError);
  $('toggle-nav').addEventListener('click', () => {
    const open = $('toggle-nav').getAttribute('aria-expanded') !== 'true';
    $('toggle-nav').setAttribute('aria-expanded', String(open));
    document.body.classList.toggle('nav-open', open);
  });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) render(); });
  window.addEventListener('online', () => socket.retryNow());
  render();
  if (!s.endpoint) {
    const endpoint = await servedEndpoint();
    // Unless the user has typed an endpoint of their own meanwhile.
    if ($('endpoint').value === guess) $('endpoint').value = endpoint;
  }
  connect();
}

start();
