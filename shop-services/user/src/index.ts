// Public API of @lantern/shop-user.
export { createUserService, createUserRoutes, userRouteDocs, USER_SERVICE_NAME, type UserService, type CreateUserServiceOptions } from './service.js';
export { userConfigSchema, type UserConfig } from './config.js';
export * as userSchemas from './schemas.js';
export { migrations as userMigrations } from './migrations.js';
