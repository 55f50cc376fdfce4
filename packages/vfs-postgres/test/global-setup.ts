export { postgresGlobalSetup as default } from '@eryx/test-servers';
