// ImageProxy peers over TCP (and uTP), never WebRTC: the real polyfill needs node-datachannel,
// whose install downloads a prebuilt binary from outside the npm registry. Undefined exports make
// @thaunknown/simple-peer report WEBRTC_SUPPORT = false, so webtorrent and bittorrent-tracker
// skip WebRTC peers and WebSocket trackers instead of failing.
export const RTCPeerConnection = undefined
export const RTCSessionDescription = undefined
export const RTCIceCandidate = undefined
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
