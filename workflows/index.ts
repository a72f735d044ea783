// The worker's workflowsPath: every workflow type ImageProxy registers.
export { registerImage, prefetchImage } from './register-image.js';
export { distributeImage } from './distribute-image.js';
export { deregisterImage } from './deregister-image.js';
export { collectGarbage } from './collect-garbage.js';
export { provisionNodes } from './provision-nodes.js';
