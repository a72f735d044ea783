// The worker's workflowsPath: every workflow type ImageProxy registers.
export { registerImage } from './register-image.js';
