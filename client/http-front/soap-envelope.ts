/**
 * The SOAP side of the ORCA contract, as pure functions: read a `RegisterImage` request envelope
 * (SOAP 1.1 or 1.2, document/literal, namespace `http://imageproxy.orca`) and write the
 * `RegisterImageResponse` or a fault in the caller's SOAP version. No I/O here.
 *
 * XML is parsed by fast-xml-parser (no DTDs are processed: a DOCTYPE is refused outright, so no
 * entity expansion or external entity can happen) and written by xmlbuilder2 (escapes text).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { create } from 'xmlbuilder2';

export const ORCA_NS = 'http://imageproxy.orca';
export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const REGISTER_IMAGE_ACTION = 'urn:RegisterImage';

export type SoapVersion = '1.1' | '1.2';

/** A request the caller got wrong; answered with a Sender (1.2) / Client (1.1) fault. */
export class SoapRequestError extends Error {
  override readonly name = 'SoapRequestError';
  constructor(
    message: string,
    /** The version the caller spoke, when it could be told. */
    readonly version: SoapVersion | undefined,
  ) {
    super(message);
  }
}

export interface RegisterImageCall {
  version: SoapVersion;
  url: string;
  signature: string;
}

/** A parsed element with its namespace resolved. */
interface XmlElement {
  ns: string | undefined;
  local: string;
  children: XmlElement[];
  text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/** Read a `RegisterImage` (or `registerImage`) request; throws SoapRequestError saying what is wrong. */
export function parseRegisterImageRequest(xml: string): RegisterImageCall {
  if (/<!DOCTYPE/i.test(xml)) throw new SoapRequestError('a SOAP message must not contain a DOCTYPE', undefined);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new SoapRequestError(`the request is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`, undefined);
  }
  const roots = toElements(parser.parse(xml) as unknown[], new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
  const envelope = roots[0];
  if (!envelope || envelope.local !== 'Envelope' || (envelope.ns !== SOAP11_NS && envelope.ns !== SOAP12_NS)) {
    const name = envelope ? `{${envelope.ns ?? ''}}${envelope.local}` : 'nothing';
    throw new SoapRequestError(`expected a SOAP 1.1 or 1.2 Envelope, got ${name}`, undefined);
  }
  const version: SoapVersion = envelope.ns === SOAP12_NS ? '1.2' : '1.1';
  const body = envelope.children.find((c) => c.ns === envelope.ns && c.local === 'Body');
  if (!body) throw new SoapRequestError('the Envelope has no Body', version);
  const call = body.children[0];
  if (!call) throw new SoapRequestError('the Body is empty', version);
  if (call.ns !== ORCA_NS || (call.local !== 'RegisterImage' && call.local !== 'registerImage')) {
    throw new SoapRequestError(`unknown operation {${call.ns ?? ''}}${call.local}: this service has RegisterImage in namespace ${ORCA_NS}`, version);
  }
  // Children are qualified in the service namespace; unqualified ones are accepted too.
  const field = (name: string): string => {
    const el = call.children.find((c) => c.local === name && (c.ns === ORCA_NS || c.ns === undefined));
    if (!el) throw new SoapRequestError(`${call.local} has no <${name}> element`, version);
    const value = el.text.trim();
    if (value === '') throw new SoapRequestError(`${call.local}: <${name}> is empty`, version);
    return value;
  };
  return { version, url: field('url'), signature: field('signature') };
}

function toElements(nodes: unknown[], scope: ReadonlyMap<string, string>): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes as Record<string, unknown>[]) {
    const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text');
    if (!name) continue;
    const attrs = (node[':@'] ?? {}) as Record<string, string>;
    let inner = scope;
    for (const [attr, value] of Object.entries(attrs)) {
      if (attr === 'xmlns' || attr.startsWith('xmlns:')) {
        if (inner === scope) inner = new Map(scope);
        (inner as Map<string, string>).set(attr === 'xmlns' ? '' : attr.slice(6), value);
      }
    }
    const colon = name.indexOf(':');
    const prefix = colon >= 0 ? name.slice(0, colon) : '';
    const local = colon >= 0 ? name.slice(colon + 1) : name;
    const content = (node[name] ?? []) as Record<string, unknown>[];
    const text = content.map((c) => (typeof c['#text'] === 'string' ? c['#text'] : '')).join('');
    const ns = inner.get(prefix);
    out.push({ ns: ns === '' ? undefined : ns, local, children: toElements(content, inner), text });
  }
  return out;
}

function envelopeNs(version: SoapVersion): string {
  return version === '1.2' ? SOAP12_NS : SOAP11_NS;
}

/** The `Content-Type` of an answer in `version`. */
export function soapContentType(version: SoapVersion, action?: string): string {
  return version === '1.2' ? `application/soap+xml; charset=UTF-8${action ? `; action="${action}"` : ''}` : 'text/xml; charset=UTF-8';
}

/** `<RegisterImageResponse><return>…</return></RegisterImageResponse>` in a SOAP envelope. */
export function buildRegisterImageResponse(version: SoapVersion, returnValue: string): string {
  const env = envelopeNs(version);
  const doc = create({ version: '1.0', encoding: 'UTF-8' })
    .ele(env, 'soapenv:Envelope')
    .ele(env, 'soapenv:Body')
    .ele(ORCA_NS, 'ns:RegisterImageResponse')
    .ele(ORCA_NS, 'ns:return')
    .txt(returnValue)
    .doc();
  return doc.end({ prettyPrint: false });
}

/**
 * A SOAP fault: `faultstring` (1.1) or `Reason/Text` (1.2) carries `reason`; the detail element is
 * `Exception` in the service namespace, as the Axis2 service's was. `sender` blames the caller.
 */
export function buildFault(version: SoapVersion, reason: string, sender: boolean): string {
  const env = envelopeNs(version);
  const fault = create({ version: '1.0', encoding: 'UTF-8' }).ele(env, 'soapenv:Envelope').ele(env, 'soapenv:Body').ele(env, 'soapenv:Fault');
  if (version === '1.2') {
    fault.ele(env, 'soapenv:Code').ele(env, 'soapenv:Value').txt(sender ? 'soapenv:Sender' : 'soapenv:Receiver');
    fault.ele(env, 'soapenv:Reason').ele(env, 'soapenv:Text').att('http://www.w3.org/XML/1998/namespace', 'xml:lang', 'en').txt(reason);
    fault.ele(env, 'soapenv:Detail').ele(ORCA_NS, 'ns:Exception').ele(ORCA_NS, 'ns:Message').txt(reason);
  } else {
    fault.ele('faultcode').txt(sender ? 'soapenv:Client' : 'soapenv:Server');
    fault.ele('faultstring').txt(reason);
    fault.ele('detail').ele(ORCA_NS, 'ns:Exception').ele(ORCA_NS, 'ns:Message').txt(reason);
  }
  return fault.doc().end({ prettyPrint: false });
}

/** Parse a response or fault (for tests and tools): the `return` text or the fault reason. */
export function readSoapAnswer(xml: string): { return: string } | { fault: string; code: string } {
  const roots = toElements(parser.parse(xml) as unknown[], new Map());
  const envelope = roots[0];
  const body = envelope?.children.find((c) => c.local === 'Body');
  const first = body?.children[0];
  if (!first) throw new Error('no SOAP Body content in the answer');
  if (first.local === 'Fault') {
    const find = (el: XmlElement, path: string[]): XmlElement | undefined =>
      path.reduce<XmlElement | undefined>((e, name) => e?.children.find((c) => c.local === name), el);
    const reason = find(first, ['faultstring']) ?? find(first, ['Reason', 'Text']);
    const code = find(first, ['faultcode']) ?? find(first, ['Code', 'Value']);
    return { fault: reason?.text ?? '', code: code?.text.trim() ?? '' };
  }
  const ret = first.children.find((c) => c.local === 'return');
  if (!ret) throw new Error(`the answer ${first.local} has no <return>`);
  return { return: ret.text };
}
