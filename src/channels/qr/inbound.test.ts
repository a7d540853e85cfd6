import { describe, expect, test } from 'bun:test'
import type { WAMessage, WAMessageKey, WAMessageUpdate } from 'baileys'
import type { InboundMessageEvent, InboundStatusEvent } from '../inbound-events.ts'
import {
  decodeMediaRef,
  encodeMediaRef,
  mapUpdates,
  mapUpsert,
  type QrInboundContext,
  UNDECRYPTABLE,
} from './inbound.ts'

// Shapes below follow what Baileys 7 emits on messages.upsert / messages.update for a linked device.
const OWN = '4915112345678'
const OWN_LID = '99887766554433'
const PARTNER = '16505551234'
const PARTNER_JID = `${PARTNER}@s.whatsapp.net`
const SENT = 1749416383
const SENT_ISO = new Date(SENT * 1000).toISOString()
const NOW = Date.parse('2026-01-02T03:04:05.000Z')

const knownLids: Record<string, string> = { '111222333444555': '447700900123' }
const ctx = (over: Partial<QrInboundContext> = {}): QrInboundContext => ({
  ownNumber: OWN,
  ownLid: OWN_LID,
  ignoreGroups: true,
  resolveLid: (lid) => knownLids[lid] ?? null,
  ...over,
})

type Overrides = Omit<Partial<WAMessage>, 'key'> & { key?: Partial<WAMessageKey> }
const incoming = (id: string, message: WAMessage['message'], { key, ...over }: Overrides = {}): WAMessage => ({
  key: { remoteJid: PARTNER_JID, fromMe: false, id, addressingMode: 'pn', ...key },
  message,
  messageTimestamp: SENT,
  pushName: 'Ada Lovelace',
  ...over,
})

/** The key a media ref keeps so the phone can be asked to upload expired media again. */
const refKey = (id: string) => ({ remoteJid: PARTNER_JID, id, fromMe: false, participant: null })

const partner = { waId: PARTNER, bsuid: null, profileName: 'Ada Lovelace', username: null }
const messageEvent = (
  over: Partial<InboundMessageEvent> & Pick<InboundMessageEvent, 'wamid' | 'type'>,
): InboundMessageEvent => ({
  kind: 'message',
  contact: partner,
  text: null,
  content: {},
  contextWamid: null,
  media: null,
  error: null,
  sentAt: SENT_ISO,
  ...over,
})

const bytes = (...values: number[]) => new Uint8Array(values)
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64')

describe('mapUpsert: message types', () => {
  test('conversation → text', () => {
    const out = mapUpsert([incoming('3EB0C0FFEE01', { conversation: 'Hello there' })], ctx(), NOW)
    expect(out).toEqual({
      events: [
        { key: 'm:3EB0C0FFEE01', event: messageEvent({ wamid: '3EB0C0FFEE01', type: 'text', text: 'Hello there' }) },
      ],
      lidMappings: [],
      skipped: [],
    })
  })

  test('extended text reply → contextWamid from stanzaId, quoted message ignored, Long timestamp', () => {
    const msg = incoming(
      '3EB0C0FFEE02',
      {
        extendedTextMessage: {
          text: 'Yes, tomorrow works',
          contextInfo: {
            stanzaId: '3EB0ORIGINAL',
            participant: PARTNER_JID,
            quotedMessage: { conversation: 'Can we meet?' },
          },
        },
        messageContextInfo: { deviceListMetadataVersion: 2 },
      },
      { messageTimestamp: { low: SENT, high: 0, unsigned: true } as unknown as WAMessage['messageTimestamp'] },
    )
    expect(mapUpsert([msg], ctx(), NOW).events).toEqual([
      {
        key: 'm:3EB0C0FFEE02',
        event: messageEvent({
          wamid: '3EB0C0FFEE02',
          type: 'text',
          text: 'Yes, tomorrow works',
          contextWamid: '3EB0ORIGINAL',
        }),
      },
    ])
  })

  test('image with caption inside an ephemeral wrapper → media ref that round-trips, sha256 base64', () => {
    const mediaKey = bytes(1, 2, 3, 4, 5, 6, 7, 8)
    const fileSha256 = bytes(9, 9, 9, 9)
    const msg = incoming(
      'ABCDEF0123456789',
      {
        ephemeralMessage: {
          message: {
            imageMessage: {
              url: 'https://mmg.whatsapp.net/v/t62.7118-24/abc.enc',
              directPath: '/v/t62.7118-24/abc.enc?ccb=11-4',
              mimetype: 'image/jpeg',
              caption: 'Our new menu',
              fileSha256,
              fileEncSha256: bytes(7, 7),
              fileLength: 48213,
              height: 1280,
              width: 960,
              mediaKey,
              mediaKeyTimestamp: SENT,
              jpegThumbnail: bytes(255, 216),
            },
          },
        },
      },
      { messageTimestamp: String(SENT) as unknown as WAMessage['messageTimestamp'] },
    )
    const [mapped] = mapUpsert([msg], ctx(), NOW).events
    const ref = {
      kind: 'image',
      url: 'https://mmg.whatsapp.net/v/t62.7118-24/abc.enc',
      directPath: '/v/t62.7118-24/abc.enc?ccb=11-4',
      mediaKey: b64(mediaKey),
      mimetype: 'image/jpeg',
      fileSha256: b64(fileSha256),
      key: refKey('ABCDEF0123456789'),
    } as const
    expect(mapped).toEqual({
      key: 'm:ABCDEF0123456789',
      event: messageEvent({
        wamid: 'ABCDEF0123456789',
        type: 'image',
        text: 'Our new menu',
        media: { id: encodeMediaRef(ref), mime: 'image/jpeg', sha256: 'CQkJCQ==', filename: null },
      }),
    })
    const event = mapped!.event
    expect(event.kind === 'message' && event.media?.id.startsWith('qr:')).toBe(true)
    expect(decodeMediaRef(event.kind === 'message' ? event.media!.id : '')).toEqual(ref)
    // Events are stored as JSON: nothing may be lost on the way.
    expect(JSON.parse(JSON.stringify(mapped))).toEqual(mapped)
  })

  test('document with caption (documentWithCaptionMessage) → filename and caption', () => {
    const url = 'https://mmg.whatsapp.net/v/t62.7119-24/doc.enc'
    const msg = incoming('3A1B2C3D4E5F60718293', {
      documentWithCaptionMessage: {
        message: {
          documentMessage: {
            url,
            directPath: '/v/t62.7119-24/doc.enc',
            mimetype: 'application/pdf',
            title: 'Invoice 5',
            fileName: 'Счёт №5.pdf',
            caption: 'Invoice attached',
            fileSha256: bytes(1),
            mediaKey: bytes(2),
            pageCount: 1,
          },
        },
      },
    })
    const ref = {
      kind: 'document',
      url,
      directPath: '/v/t62.7119-24/doc.enc',
      mediaKey: 'Ag==',
      mimetype: 'application/pdf',
      fileSha256: 'AQ==',
      key: refKey('3A1B2C3D4E5F60718293'),
    } as const
    expect(mapUpsert([msg], ctx(), NOW).events).toEqual([
      {
        key: 'm:3A1B2C3D4E5F60718293',
        event: messageEvent({
          wamid: '3A1B2C3D4E5F60718293',
          type: 'document',
          text: 'Invoice attached',
          media: { id: encodeMediaRef(ref), mime: 'application/pdf', sha256: 'AQ==', filename: 'Счёт №5.pdf' },
        }),
      },
    ])
  })

  test('voice note → audio with content.voice', () => {
    const [url, mimetype] = ['https://mmg.whatsapp.net/a.enc', 'audio/ogg; codecs=opus']
    const audioMessage = {
      url,
      directPath: '/a.enc',
      mimetype,
      seconds: 4,
      ptt: true,
      mediaKey: bytes(3),
      fileSha256: bytes(4),
    }
    const msg = incoming('3EB0VOICE', { audioMessage })
    const key = refKey('3EB0VOICE')
    const ref = {
      kind: 'audio',
      url,
      directPath: '/a.enc',
      mediaKey: 'Aw==',
      mimetype,
      fileSha256: 'BA==',
      key,
    } as const
    expect(mapUpsert([msg], ctx(), NOW).events).toEqual([
      {
        key: 'm:3EB0VOICE',
        event: messageEvent({
          wamid: '3EB0VOICE',
          type: 'audio',
          content: { voice: true },
          media: { id: encodeMediaRef(ref), mime: mimetype, sha256: 'BA==', filename: null },
        }),
      },
    ])
  })

  test('location → content like the Cloud API', () => {
    const msg = incoming('3EB0LOC', {
      locationMessage: {
        degreesLatitude: 52.5163,
        degreesLongitude: 13.3777,
        name: 'Brandenburger Tor',
        address: 'Pariser Platz, Berlin',
      },
    })
    expect(mapUpsert([msg], ctx(), NOW).events).toEqual([
      {
        key: 'm:3EB0LOC',
        event: messageEvent({
          wamid: '3EB0LOC',
          type: 'location',
          text: 'Brandenburger Tor',
          content: {
            latitude: 52.5163,
            longitude: 13.3777,
            name: 'Brandenburger Tor',
            address: 'Pariser Platz, Berlin',
            url: null,
          },
        }),
      },
    ])
  })

  test('contact card → contacts in the Cloud shape plus the vCard', () => {
    const vcard =
      'BEGIN:VCARD\nVERSION:3.0\nN:;Grace Hopper;;;\nFN:Grace Hopper\nitem1.TEL;waid=14155550123:+1 415-555-0123\nitem1.X-ABLabel:Mobile\nEND:VCARD'
    const msg = incoming('3EB0CARD', { contactMessage: { displayName: 'Grace Hopper', vcard } })
    expect(mapUpsert([msg], ctx(), NOW).events).toEqual([
      {
        key: 'm:3EB0CARD',
        event: messageEvent({
          wamid: '3EB0CARD',
          type: 'contacts',
          text: 'Grace Hopper',
          content: {
            contacts: [
              {
                name: { formatted_name: 'Grace Hopper' },
                phones: [{ phone: '+1 415-555-0123', wa_id: '14155550123' }],
                vcard,
              },
            ],
          },
        }),
      },
    ])
  })

  test('reaction and its removal', () => {
    const target = { remoteJid: `${OWN}@s.whatsapp.net`, fromMe: true, id: '3EB0OURS' }
    const reacted = incoming('3EB0REACT1', {
      reactionMessage: { key: target, text: '👍', senderTimestampMs: SENT * 1000 },
    })
    const removed = incoming('3EB0REACT2', {
      reactionMessage: { key: target, text: '', senderTimestampMs: SENT * 1000 + 5 },
    })
    expect(mapUpsert([reacted, removed], ctx(), NOW).events).toEqual([
      {
        key: 'm:3EB0REACT1',
        event: messageEvent({
          wamid: '3EB0REACT1',
          type: 'reaction',
          text: '👍',
          content: { messageId: '3EB0OURS', emoji: '👍' },
        }),
      },
      {
        key: 'm:3EB0REACT2',
        event: messageEvent({
          wamid: '3EB0REACT2',
          type: 'reaction',
          text: null,
          content: { messageId: '3EB0OURS', emoji: null },
        }),
      },
    ])
  })

  test('protocol REVOKE → revoked, MESSAGE_EDIT → edited with the new text; other protocol messages and reactions to nothing skipped', () => {
    const revoke = incoming('3EB0REVOKE', {
      protocolMessage: { key: { remoteJid: PARTNER_JID, fromMe: false, id: '3EB0GONE' }, type: 0 },
    })
    const historySync = incoming(
      '3EB0HIST',
      { protocolMessage: { type: 5, historySyncNotification: { syncType: 3, chunkOrder: 1 } } },
      { key: { remoteJid: `${OWN}@s.whatsapp.net`, fromMe: true } },
    )
    const edited = { protocolMessage: { key: { id: '3EB0C0FFEE01' }, type: 14, editedMessage: { conversation: 'Hi' } } }
    const edit = incoming('3EB0EDIT', { editedMessage: { message: edited } })
    const noTarget = incoming('3EB0REACT3', { reactionMessage: { text: '👍' } })
    // An edit of a caption arrives the same way, with the edited media message inside.
    const captionEdit = incoming('3EB0EDIT2', {
      protocolMessage: {
        key: { id: '3EB0PHOTO' },
        type: 14,
        editedMessage: { imageMessage: { caption: 'The blue one' } },
      },
    })
    const out = mapUpsert([revoke, historySync, edit, captionEdit, noTarget], ctx(), NOW)
    expect(out.events).toEqual([
      {
        key: 'm:3EB0REVOKE',
        event: messageEvent({ wamid: '3EB0REVOKE', type: 'revoked', content: { messageId: '3EB0GONE' } }),
      },
      {
        key: 'm:3EB0EDIT',
        event: messageEvent({ wamid: '3EB0EDIT', type: 'edited', text: 'Hi', content: { messageId: '3EB0C0FFEE01' } }),
      },
      {
        key: 'm:3EB0EDIT2',
        event: messageEvent({
          wamid: '3EB0EDIT2',
          type: 'edited',
          text: 'The blue one',
          content: { messageId: '3EB0PHOTO' },
        }),
      },
    ])
    expect(out.skipped).toEqual([
      { id: '3EB0HIST', reason: 'protocol message HISTORY_SYNC_NOTIFICATION' },
      { id: '3EB0REACT3', reason: 'reaction to nothing' },
    ])
  })

  test('video note (ptvMessage) → video marked as a note, with a downloadable media ref', () => {
    const note = incoming('3EB0PTV', {
      ptvMessage: {
        url: 'https://mmg.whatsapp.net/v/t62.7161-24/note.enc',
        directPath: '/v/t62.7161-24/note.enc',
        mediaKey: bytes(1, 2, 3),
        mimetype: 'video/mp4',
        fileSha256: bytes(4, 5, 6),
        seconds: 7,
      },
    })
    const events = mapUpsert([note], ctx(), NOW).events
    expect(events).toHaveLength(1)
    const event = events[0]!.event as InboundMessageEvent
    expect(event).toMatchObject({ type: 'video', content: { videoNote: true }, media: { mime: 'video/mp4' } })
    const ref = decodeMediaRef(event.media!.id)
    expect(ref).toMatchObject({ kind: 'video', directPath: '/v/t62.7161-24/note.enc', mediaKey: b64(bytes(1, 2, 3)) })
  })

  test('album announcements, poll votes and undecryptable messages are skipped with their reason, not stored as unsupported', () => {
    const album = incoming('3EB0ALBUM', { albumMessage: { expectedImageCount: 3, expectedVideoCount: 0 } })
    const vote = incoming('3EB0VOTE', {
      pollUpdateMessage: {
        pollCreationMessageKey: { remoteJid: PARTNER_JID, fromMe: true, id: '3EB0POLLQ' },
        vote: { encPayload: bytes(9, 9), encIv: bytes(8, 8) },
      },
    })
    // What Baileys upserts when decryption failed (decode-wa-message.js): no content, the CIPHERTEXT stub.
    const broken = incoming('3EB0BROKEN', undefined, {
      messageStubType: 2,
      messageStubParameters: ['Message absent from node'],
    })
    const out = mapUpsert([album, vote, broken], ctx(), NOW)
    expect(out.events).toEqual([])
    expect(out.skipped).toEqual([
      { id: '3EB0ALBUM', reason: 'album announcement (its images and videos come as messages of their own)' },
      { id: '3EB0VOTE', reason: 'poll vote' },
      { id: '3EB0BROKEN', reason: UNDECRYPTABLE },
    ])
  })

  test('protocol message in a partner chat is skipped with its type', () => {
    const ephemeral = incoming('3EB0EPH', { protocolMessage: { type: 3, ephemeralExpiration: 604800 } })
    expect(mapUpsert([ephemeral], ctx(), NOW).skipped).toEqual([
      { id: '3EB0EPH', reason: 'protocol message EPHEMERAL_SETTING' },
    ])
  })

  test('unknown content → unsupported with the Cloud error code', () => {
    const poll = incoming('3EB0POLL', {
      pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Yes' }], selectableOptionsCount: 1 },
    })
    expect(mapUpsert([poll], ctx(), NOW).events).toEqual([
      {
        key: 'm:3EB0POLL',
        event: messageEvent({
          wamid: '3EB0POLL',
          type: 'unsupported',
          content: { unsupportedType: 'pollCreationMessageV3' },
          error: { code: 131051, title: 'Unsupported message type', details: 'pollCreationMessageV3' },
        }),
      },
    ])
  })
})

describe('mapUpsert: who sent it', () => {
  test('@lid sender with remoteJidAlt → waId from the alt and a LID mapping', () => {
    const key = {
      remoteJid: '205829311234567@lid',
      remoteJidAlt: '5511987654321@s.whatsapp.net',
      addressingMode: 'lid',
    }
    const msg = incoming('3EB0LID1', { conversation: 'from a LID' }, { key })
    expect(mapUpsert([msg], ctx(), NOW)).toEqual({
      events: [
        {
          key: 'm:3EB0LID1',
          event: messageEvent({
            wamid: '3EB0LID1',
            type: 'text',
            text: 'from a LID',
            contact: { ...partner, waId: '5511987654321', bsuid: 'lid:205829311234567' },
          }),
        },
      ],
      lidMappings: [{ lid: '205829311234567', waId: '5511987654321' }],
      skipped: [],
    })
  })

  test('phone JID with a LID alt records the mapping too; device suffix stripped', () => {
    const msg = incoming(
      '3EB0PN1',
      { conversation: 'hi' },
      { key: { remoteJid: `${PARTNER}:12@s.whatsapp.net`, remoteJidAlt: '205829300000001@lid' } },
    )
    const out = mapUpsert([msg], ctx(), NOW)
    expect(out.events).toEqual([
      {
        key: 'm:3EB0PN1',
        event: messageEvent({
          wamid: '3EB0PN1',
          type: 'text',
          text: 'hi',
          contact: { ...partner, bsuid: 'lid:205829300000001' },
        }),
      },
    ])
    expect(out.lidMappings).toEqual([{ lid: '205829300000001', waId: PARTNER }])
  })

  test('@lid sender without alt resolved by resolveLid; unresolved → bsuid lid:…', () => {
    const resolved = incoming(
      '3EB0LID2',
      { conversation: 'known' },
      { key: { remoteJid: '111222333444555@lid', addressingMode: 'lid' }, pushName: 'Known' },
    )
    const unknown = incoming(
      '3EB0LID3',
      { conversation: 'unknown' },
      { key: { remoteJid: '777888999000111@lid' }, pushName: 'Stranger' },
    )
    expect(mapUpsert([resolved, unknown], ctx(), NOW)).toEqual({
      events: [
        {
          key: 'm:3EB0LID2',
          event: messageEvent({
            wamid: '3EB0LID2',
            type: 'text',
            text: 'known',
            contact: { ...partner, waId: '447700900123', bsuid: 'lid:111222333444555', profileName: 'Known' },
          }),
        },
        {
          key: 'm:3EB0LID3',
          event: messageEvent({
            wamid: '3EB0LID3',
            type: 'text',
            text: 'unknown',
            contact: { waId: null, bsuid: 'lid:777888999000111', profileName: 'Stranger', username: null },
          }),
        },
      ],
      lidMappings: [],
      skipped: [],
    })
  })

  test('a mapping learned earlier in the batch resolves a later message from the same LID', () => {
    const first = incoming(
      '3EB0A',
      { conversation: 'a' },
      { key: { remoteJid: '555000555000555@lid', remoteJidAlt: '33612345678@s.whatsapp.net' } },
    )
    const second = incoming('3EB0B', { conversation: 'b' }, { key: { remoteJid: '555000555000555@lid' } })
    const out = mapUpsert([first, second], ctx(), NOW)
    expect(out.events.map((e) => e.event.kind === 'message' && e.event.contact.waId)).toEqual([
      '33612345678',
      '33612345678',
    ])
    expect(out.lidMappings).toEqual([{ lid: '555000555000555', waId: '33612345678' }])
  })

  test('own message typed on the phone → fromMe event to the partner, no profile name', () => {
    const msg = incoming(
      '3EB0MINE',
      { extendedTextMessage: { text: 'On my way' } },
      { key: { fromMe: true }, pushName: 'My Business', status: 2 },
    )
    expect(mapUpsert([msg], ctx(), NOW).events).toEqual([
      {
        key: 'm:3EB0MINE',
        event: messageEvent({
          wamid: '3EB0MINE',
          type: 'text',
          text: 'On my way',
          contact: { ...partner, profileName: null },
          fromMe: true,
        }),
      },
    ])
  })

  test('groups (when ignored), status@broadcast, newsletters, broadcasts, stubs, empty messages and the self chat are skipped', () => {
    const messages: WAMessage[] = [
      incoming(
        'G1',
        { conversation: 'group' },
        { key: { remoteJid: '120363025246125486@g.us', participant: PARTNER_JID } },
      ),
      incoming(
        'S1',
        { imageMessage: { caption: 'my story' } },
        { key: { remoteJid: 'status@broadcast', participant: PARTNER_JID } },
      ),
      incoming('N1', { conversation: 'news' }, { key: { remoteJid: '120363144038483540@newsletter' } }),
      incoming('B1', { conversation: 'list' }, { key: { remoteJid: '1749416383@broadcast' } }),
      incoming('STUB1', undefined, { messageStubType: 2, messageStubParameters: ['ephemeral'] }),
      incoming('E1', { senderKeyDistributionMessage: { groupId: 'x' }, messageContextInfo: {} }),
      incoming('SELF1', { conversation: 'note to self' }, { key: { remoteJid: `${OWN_LID}@lid`, fromMe: true } }),
    ]
    expect(mapUpsert(messages, ctx(), NOW)).toEqual({
      events: [],
      lidMappings: [],
      skipped: [
        { id: 'G1', reason: 'group message (groups are ignored)' },
        { id: 'S1', reason: 'status update (status@broadcast)' },
        { id: 'N1', reason: 'newsletter (channel) message' },
        { id: 'B1', reason: 'broadcast list message' },
        { id: 'STUB1', reason: UNDECRYPTABLE },
        { id: 'E1', reason: 'no content' },
        { id: 'SELF1', reason: 'chat with the linked number itself' },
      ],
    })
  })

  test('groups not ignored → the author is the contact, the group is noted', () => {
    const key = {
      remoteJid: '120363025246125486@g.us',
      participant: '205829311234567@lid',
      participantAlt: PARTNER_JID,
      addressingMode: 'lid',
    }
    const msg = incoming('G2', { conversation: 'hello group' }, { key })
    expect(mapUpsert([msg], ctx({ ignoreGroups: false }), NOW)).toEqual({
      events: [
        {
          key: 'm:G2',
          event: messageEvent({
            wamid: 'G2',
            type: 'text',
            text: 'hello group',
            contact: { ...partner, bsuid: 'lid:205829311234567' },
            content: { groupJid: '120363025246125486@g.us' },
          }),
        },
      ],
      lidMappings: [{ lid: '205829311234567', waId: PARTNER }],
      skipped: [],
    })
  })

  test('the same message twice → the same key; a throwing resolver skips, never throws', () => {
    const msg = incoming('3EB0TWICE', { conversation: 'again' })
    const first = mapUpsert([msg], ctx(), NOW)
    const second = mapUpsert([structuredClone(msg)], ctx(), NOW + 60_000)
    expect(second.events).toEqual(first.events)
    expect(first.events[0]!.key).toBe('m:3EB0TWICE')

    const lid = incoming('3EB0BOOM', { conversation: 'x' }, { key: { remoteJid: '1@lid' } })
    const broken = ctx({
      resolveLid: () => {
        throw new Error('db closed')
      },
    })
    expect(mapUpsert([lid], broken, NOW).skipped).toEqual([{ id: '3EB0BOOM', reason: 'malformed message: db closed' }])
  })
})

describe('mapUpdates', () => {
  const receipt = (
    id: string,
    status: number,
    over: Partial<WAMessageUpdate['key']> = {},
    t = SENT + 10,
  ): WAMessageUpdate => ({
    key: { remoteJid: PARTNER_JID, fromMe: true, id, ...over },
    update: { status, messageTimestamp: t },
  })
  const statusEvent = (wamid: string, status: string, over: Partial<InboundStatusEvent> = {}): InboundStatusEvent => ({
    kind: 'status',
    wamid,
    status,
    recipient: PARTNER,
    occurredAt: new Date((SENT + 10) * 1000).toISOString(),
    error: null,
    pricing: null,
    callbackData: null,
    ...over,
  })

  test('delivery and read receipts → status events keyed by (id, status)', () => {
    const out = mapUpdates(
      [receipt('3EB0OUT1', 3), receipt('3EB0OUT1', 4), receipt('3EB0OUT2', 2, {}, 0), receipt('3EB0OUT3', 5)],
      ctx(),
      NOW,
    )
    expect(out).toEqual({
      events: [
        { key: 's:3EB0OUT1:delivered', event: statusEvent('3EB0OUT1', 'delivered') },
        { key: 's:3EB0OUT1:read', event: statusEvent('3EB0OUT1', 'read') },
        // A receipt without a time (Baileys reports 0) is dated when it was mapped.
        { key: 's:3EB0OUT2:sent', event: statusEvent('3EB0OUT2', 'sent', { occurredAt: new Date(NOW).toISOString() }) },
        { key: 's:3EB0OUT3:played', event: statusEvent('3EB0OUT3', 'played') },
      ],
      lidMappings: [],
      skipped: [],
    })
  })

  test('error → failed; LID recipients resolved or named lid:…; pending, edits, revokes and receipts of received messages skipped', () => {
    const updates: WAMessageUpdate[] = [
      receipt('3EB0ERR', 0),
      receipt('3EB0LIDR', 3, { remoteJid: '205829311234567@lid', remoteJidAlt: '5511987654321@s.whatsapp.net' }),
      receipt('3EB0LIDU', 4, { remoteJid: '777888999000111@lid' }),
      receipt('3EB0PEND', 1),
      {
        key: { remoteJid: PARTNER_JID, fromMe: true, id: '3EB0EDITED' },
        update: { message: { editedMessage: { message: { conversation: 'fixed' } } } },
      },
      { key: { remoteJid: PARTNER_JID, fromMe: false, id: '3EB0DEL' }, update: { message: null, messageStubType: 1 } },
      receipt('3EB0THEIRS', 4, { fromMe: false }),
    ]
    expect(mapUpdates(updates, ctx(), NOW)).toEqual({
      events: [
        {
          key: 's:3EB0ERR:failed',
          event: statusEvent('3EB0ERR', 'failed', { error: { code: 131000, title: 'Failed to send', details: null } }),
        },
        { key: 's:3EB0LIDR:delivered', event: statusEvent('3EB0LIDR', 'delivered', { recipient: '5511987654321' }) },
        { key: 's:3EB0LIDU:read', event: statusEvent('3EB0LIDU', 'read', { recipient: 'lid:777888999000111' }) },
      ],
      lidMappings: [{ lid: '205829311234567', waId: '5511987654321' }],
      skipped: [
        { id: '3EB0PEND', reason: 'pending status' },
        { id: '3EB0EDITED', reason: 'not a status change' },
        { id: '3EB0DEL', reason: 'not a status change' },
        { id: '3EB0THEIRS', reason: 'status of a message we did not send' },
      ],
    })
  })
})

describe('media refs', () => {
  test('round-trip and rejection of anything else', () => {
    const ref = {
      kind: 'sticker',
      url: null,
      directPath: '/v/t62.15575-24/s.enc',
      mediaKey: 'a2V5',
      mimetype: 'image/webp',
      fileSha256: null,
    } as const
    const id = encodeMediaRef(ref)
    expect(id).toMatch(/^qr:[A-Za-z0-9_-]+$/)
    expect(decodeMediaRef(id)).toEqual(ref)
    expect(decodeMediaRef('garbage')).toBeNull()
    expect(decodeMediaRef('qr:garbage')).toBeNull()
    expect(decodeMediaRef('qr:')).toBeNull()
    expect(
      decodeMediaRef(`qr:${Buffer.from(JSON.stringify({ ...ref, kind: 'pdf' })).toString('base64url')}`),
    ).toBeNull()
    expect(decodeMediaRef('1234567890')).toBeNull()
  })
})
