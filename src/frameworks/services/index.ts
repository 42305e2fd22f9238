// The services framework: long-running apps with Marathon's API (issue 12).
export { type AppDefinition, parseApp } from './app-definition.js';
export { type AppFileDocument, type AppFileResult, parseAppFile } from './app-file.js';
export { ServiceCore } from './core.js';
export {
  ServicesFramework,
  type ServicesLog,
  type ServicesOptions,
  type ServicesStore,
} from './framework.js';
