import { describe, expect, it } from 'vitest';
import {
  buildFault,
  buildRegisterImageResponse,
  parseRegisterImageRequest,
  readSoapAnswer,
  SOAP11_NS,
  SOAP12_NS,
  SoapRequestError,
} from '../../../client/http-front/soap-envelope.js';

const sig = 'ab'.repeat(20);
const axis2Soap12 = (op = 'RegisterImage'): string =>
  `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="${SOAP12_NS}"><soapenv:Body>` +
  `<ns1:${op} xmlns:ns1="http://imageproxy.orca"><ns1:url>http://h/x.xml?a=1&amp;b=2</ns1:url><ns1:signature>${sig}</ns1:signature></ns1:${op}>` +
  `</soapenv:Body></soapenv:Envelope>`;

describe('SOAP envelopes of RegisterImage', () => {
  it('reads the SOAP 1.2 request an Axis2 stub sends', () => {
    expect(parseRegisterImageRequest(axis2Soap12())).toEqual({ version: '1.2', url: 'http://h/x.xml?a=1&b=2', signature: sig });
  });

  it('reads SOAP 1.1 with a default namespace, unqualified children, a header, and the lowercase wrapper', () => {
    const xml =
      `<S:Envelope xmlns:S="${SOAP11_NS}"><S:Header><x:Trace xmlns:x="urn:t">1</x:Trace></S:Header><S:Body>` +
      `<registerImage xmlns="http://imageproxy.orca"><url> http://h/y.xml </url><signature xmlns="">${sig}</signature></registerImage></S:Body></S:Envelope>`;
    expect(parseRegisterImageRequest(xml)).toEqual({ version: '1.1', url: 'http://h/y.xml', signature: sig });
  });

  const bad: [string, string, RegExp][] = [
    ['a DOCTYPE (entity expansion)', `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${axis2Soap12()}`, /must not contain a DOCTYPE/],
    ['broken XML', '<soapenv:Envelope><a></b>', /not well-formed XML: .*line 1/],
    ['no envelope', '<RegisterImage xmlns="http://imageproxy.orca"/>', /expected a SOAP 1.1 or 1.2 Envelope, got \{http:\/\/imageproxy.orca\}RegisterImage/],
    ['another operation', axis2Soap12('DeleteEverything'), /unknown operation \{http:\/\/imageproxy.orca\}DeleteEverything/],
    ['the wrong namespace', axis2Soap12().replace('http://imageproxy.orca', 'http://other'), /unknown operation \{http:\/\/other\}RegisterImage/],
    ['a missing signature', axis2Soap12().replace(/<ns1:signature>.*<\/ns1:signature>/, ''), /RegisterImage has no <signature> element/],
    ['an empty url', axis2Soap12().replace(/<ns1:url>.*<\/ns1:url>/, '<ns1:url> </ns1:url>'), /RegisterImage: <url> is empty/],
  ];
  for (const [name, xml, message] of bad) {
    it(`refuses ${name}, saying why`, () => {
      expect(() => parseRegisterImageRequest(xml)).toThrow(SoapRequestError);
      expect(() => parseRegisterImageRequest(xml)).toThrow(message);
    });
  }

  it('writes the response and faults in both versions, escaping text', () => {
    const ret = '#Tue Nov 24 14:02:43 UTC 2026\nFILESYSTEM=a<b&c\n';
    for (const v of ['1.1', '1.2'] as const) {
      const response = buildRegisterImageResponse(v, ret);
      expect(response).toContain(v === '1.2' ? SOAP12_NS : SOAP11_NS);
      expect(response).toContain('RegisterImageResponse');
      expect(readSoapAnswer(response)).toEqual({ return: ret });
      const fault = buildFault(v, 'metadata has SHA-1 x, not the GUID <y>', false);
      expect(readSoapAnswer(fault)).toEqual({ fault: 'metadata has SHA-1 x, not the GUID <y>', code: v === '1.2' ? 'soapenv:Receiver' : 'soapenv:Server' });
      expect(fault).toMatch(/<ns:Exception xmlns:ns="http:\/\/imageproxy.orca">/);
    }
    expect(readSoapAnswer(buildFault('1.2', 'bad', true))).toMatchObject({ code: 'soapenv:Sender' });
  });
});
