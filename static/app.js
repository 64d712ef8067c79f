// chatd's web client: the AWS tutorial's "Everyone" broadcast and the rooms app, over one
// WebSocket. Every text from the network is rendered with textContent, never as HTML.
const $ = (id) => document.getElementById(id);
const EVERYONE = '';

const state = {
  ws: null,
  views: new Map([[EVERYONE, { messages: [], members: [], oldest: null, hasMore: false }]]),
  current: EVERYONE,
  refs: 0,
  pending: new Map(), // ref -> {room, li}
};

function defaultEndpoint() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/dev`;
}

function setStatus(text) { $('status').textContent = text; }
function showError(text) { $('error').textContent = text; }

function send(obj) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) { showError('Not connected.'); return null; }
  const ref = `c${++state.refs}`;
  state.ws.send(JSON.stringify({ ...obj, ref }));
  return ref;
}

function connect(event) {
  event?.preventDefault();
  if (state.ws) state.ws.close(1000);
  const name = $('name').value.trim();
  const url = $('endpoint').value.trim() + (name ? `?name=${encodeURIComponent(name)}` : '');
  setStatus('connecting…');
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onopen = () => {
    setStatus('connected');
    $('text').disabled = false;
    $('send-button').disabled = false;
    send({ action: 'listRooms' });
  };
  ws.onclose = (e) => {
    if (state.ws !== ws) return;
    setStatus(`disconnected (code ${e.code}${e.reason ? `: ${e.reason}` : ''})`);
    $('text').disabled = true;
    $('send-button').disabled = true;
  };
  ws.onerror = () => showError('The connection failed (was the name valid?).');
  ws.onmessage = (e) => onFrame(e.data);
}

function view(roomId) {
  if (!state.views.has(roomId)) state.views.set(roomId, { messages: [], members: [], oldest: null, hasMore: false });
  return state.views.get(roomId);
}

function onFrame(text) {
  let f;
  try { f = JSON.parse(text); } catch { f = null; }
  if (!f || typeof f !== 'object' || typeof f.type !== 'string') {
    // The tutorial's sendmessage delivers raw text to everyone.
    view(EVERYONE).messages.push({ text: String(text), at: new Date() });
    return render();
  }
  switch (f.type) {
    case 'rooms': return renderRoomList(f.rooms);
    case 'roomCreated': send({ action: 'joinRoom', roomId: f.roomId }); return;
    case 'joined': {
      const v = view(f.roomId);
      v.members = f.members; v.messages = f.recent.map(fromMessage);
      v.oldest = f.recent[0]?.seq ?? null; v.hasMore = (v.oldest ?? 1) > 1;
      state.current = f.roomId;
      return render();
    }
    case 'memberJoined': view(f.roomId).members.push({ connectionId: f.connectionId, name: f.name }); return render();
    case 'memberLeft': {
      const v = view(f.roomId);
      v.members = v.members.filter((m) => m.connectionId !== f.connectionId);
      return render();
    }
    case 'left': state.views.delete(f.roomId); state.current = EVERYONE; return render();
    case 'message': {
      const p = f.ref && state.pending.get(f.ref);
      if (p) state.pending.delete(f.ref);
      const v = view(f.roomId);
      v.messages = v.messages.filter((m) => m.ref !== f.ref || !f.ref);
      v.messages.push(fromMessage(f));
      return render();
    }
    case 'messages': {
      const v = view(f.roomId);
      v.messages = f.messages.map(fromMessage).concat(v.messages);
      v.oldest = f.messages[0]?.seq ?? v.oldest; v.hasMore = f.hasMore;
      return render();
    }
    case 'error': showError(`${f.code}: ${f.message}`); return;
    default: return;
  }
}

function fromMessage(m) { return { name: m.name, text: m.message, at: new Date(m.sentAt), seq: m.seq }; }

function renderRoomList(rooms) {
  const ul = $('room-list');
  ul.replaceChildren(...rooms.map((r) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `${r.roomId} (${r.members})`;
    b.onclick = () => send({ action: 'joinRoom', roomId: r.roomId });
    li.append(b);
    return li;
  }));
}

function render() {
  const views = $('views');
  views.replaceChildren(...[...state.views.keys()].map((id) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = id === EVERYONE ? 'Everyone' : `# ${id}`;
    b.setAttribute('aria-current', String(id === state.current));
    b.onclick = () => { state.current = id; render(); };
    li.append(b);
    return li;
  }));
  const v = view(state.current);
  $('view-title').textContent = state.current === EVERYONE ? 'Everyone' : `# ${state.current}`;
  $('members').textContent = state.current === EVERYONE ? '' : `Members: ${v.members.map((m) => m.name).join(', ')}`;
  $('older').hidden = state.current === EVERYONE || !v.hasMore;
  $('leave').hidden = state.current === EVERYONE;
  $('messages').replaceChildren(...v.messages.map((m) => {
    const li = document.createElement('li');
    if (m.pending) li.className = 'pending';
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${m.at.toLocaleTimeString()}${m.name ? ` ${m.name}` : ''}`;
    const body = document.createElement('span');
    body.textContent = m.text;
    li.append(meta, body);
    return li;
  }));
}

function onSend(event) {
  event.preventDefault();
  const text = $('text').value;
  if (!text) return;
  showError('');
  if (state.current === EVERYONE) {
    send({ action: 'sendmessage', message: text });
  } else {
    const ref = send({ action: 'sendMessage', roomId: state.current, message: text });
    if (ref) view(state.current).messages.push({ text, at: new Date(), pending: true, ref });
  }
  $('text').value = '';
  render();
}

$('endpoint').value = defaultEndpoint();
$('connect-form').addEventListener('submit', connect);
$('send-form').addEventListener('submit', onSend);
$('create-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = $('new-room').value.trim();
  send(id ? { action: 'createRoom', roomId: id } : { action: 'createRoom' });
  $('new-room').value = '';
});
$('refresh-rooms').addEventListener('click', () => send({ action: 'listRooms' }));
$('older').addEventListener('click', () => {
  const v = view(state.current);
  send({ action: 'getMessages', roomId: state.current, before: v.oldest, limit: 50 });
});
$('leave').addEventListener('click', () => send({ action: 'leaveRoom', roomId: state.current }));
render();
connect();
