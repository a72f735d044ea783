/**
 * The WSDL the Axis2 service published, rebuilt: service `IMAGEPROXY`, namespace
 * `http://imageproxy.orca`, document/literal, operation `RegisterImage(url, signature)` →
 * `RegisterImageResponse(return)`, fault `Exception`, SOAP 1.1 and 1.2 ports at the Axis2 paths.
 */
import { ORCA_NS, REGISTER_IMAGE_ACTION } from './soap-envelope.js';

export const SERVICE_PATH = '/axis2/services/IMAGEPROXY';
export const SOAP11_PATH = '/axis2/services/IMAGEPROXY.IMAGEPROXYHttpSoap11Endpoint/';
export const SOAP12_PATH = '/axis2/services/IMAGEPROXY.IMAGEPROXYHttpSoap12Endpoint/';

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The WSDL text, its endpoints under `baseUrl` (scheme, host, port and any `/sites/<name>` prefix). */
export function buildWsdl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:ns="${ORCA_NS}"
    targetNamespace="${ORCA_NS}">
  <wsdl:documentation>IMAGEPROXY: register a guest image at a cloud site; answers the ids as Java properties text.</wsdl:documentation>
  <wsdl:types>
    <xs:schema attributeFormDefault="qualified" elementFormDefault="qualified" targetNamespace="${ORCA_NS}">
      <xs:element name="Exception">
        <xs:complexType><xs:sequence><xs:element minOccurs="0" name="Message" nillable="true" type="xs:string"/></xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="RegisterImage">
        <xs:complexType>
          <xs:sequence>
            <xs:element minOccurs="0" name="url" nillable="true" type="xs:string"/>
            <xs:element minOccurs="0" name="signature" nillable="true" type="xs:string"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:element name="RegisterImageResponse">
        <xs:complexType><xs:sequence><xs:element minOccurs="0" name="return" nillable="true" type="xs:string"/></xs:sequence></xs:complexType>
      </xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="RegisterImageRequest"><wsdl:part name="parameters" element="ns:RegisterImage"/></wsdl:message>
  <wsdl:message name="RegisterImageResponse"><wsdl:part name="parameters" element="ns:RegisterImageResponse"/></wsdl:message>
  <wsdl:message name="Exception"><wsdl:part name="parameters" element="ns:Exception"/></wsdl:message>
  <wsdl:portType name="IMAGEPROXYPortType">
    <wsdl:operation name="RegisterImage">
      <wsdl:input message="ns:RegisterImageRequest" wsaw:Action="${REGISTER_IMAGE_ACTION}" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"/>
      <wsdl:output message="ns:RegisterImageResponse" wsaw:Action="urn:RegisterImageResponse" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"/>
      <wsdl:fault message="ns:Exception" name="Exception" wsaw:Action="urn:RegisterImageException" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="IMAGEPROXYSoap11Binding" type="ns:IMAGEPROXYPortType">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>
    <wsdl:operation name="RegisterImage">
      <soap:operation soapAction="${REGISTER_IMAGE_ACTION}" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="Exception"><soap:fault use="literal" name="Exception"/></wsdl:fault>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:binding name="IMAGEPROXYSoap12Binding" type="ns:IMAGEPROXYPortType">
    <soap12:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>
    <wsdl:operation name="RegisterImage">
      <soap12:operation soapAction="${REGISTER_IMAGE_ACTION}" style="document"/>
      <wsdl:input><soap12:body use="literal"/></wsdl:input>
      <wsdl:output><soap12:body use="literal"/></wsdl:output>
      <wsdl:fault name="Exception"><soap12:fault use="literal" name="Exception"/></wsdl:fault>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="IMAGEPROXY">
    <wsdl:port name="IMAGEPROXYHttpSoap11Endpoint" binding="ns:IMAGEPROXYSoap11Binding">
      <soap:address location="${escapeAttr(base + SOAP11_PATH)}"/>
    </wsdl:port>
    <wsdl:port name="IMAGEPROXYHttpSoap12Endpoint" binding="ns:IMAGEPROXYSoap12Binding">
      <soap12:address location="${escapeAttr(base + SOAP12_PATH)}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}
