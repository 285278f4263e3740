// Public API of @lantern/shop-gateway.
export { createGateway, GATEWAY_SERVICE_NAME, type Gateway, type GatewayDeps } from './gateway.js';
export { gatewayConfigSchema, loadGatewayConfig, type GatewayConfig } from './config.js';
export { productDetailsSchema, stockSchema, detailsRecommendationsSchema, type ProductDetails } from './details.js';
export { UPSTREAMS, Upstreams, type UpstreamName } from './upstreams.js';
export { MOUNTS, proxyTarget, proxyRouteTemplate, isPublic, type ProxyTarget } from './routing.js';
export { cachingSigner, cachingVerifier } from './token-cache.js';
