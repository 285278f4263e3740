# One image for every Node part of Lantern; SERVICE picks which shop service runs.
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# patch-package (postinstall) applies patches/ to node_modules: kafkajs's idle 1 ms timer loop
COPY patches/ patches/
COPY sdk/package.json sdk/
COPY collector/package.json collector/
COPY alerting/package.json alerting/
COPY testkit/package.json testkit/
COPY test/package.json test/
COPY shop-services/ shop-services/
RUN npm ci --no-audit --no-fund --include=dev
COPY . .
USER node
# tsx runs the TypeScript sources directly; the SDK preload instruments before the app loads. tsx/esm
# registers only tsx's ESM loader (the services are ESM): its CommonJS require hook re-resolves every
# require() at run time with a source-mapped stack trace, and kafkajs requires per Kafka request (4-8% of
# a Kafka-using service's CPU in the checkout benchmark's profiles).
CMD ["sh", "-c", "exec node --import tsx/esm --import @lantern/sdk/register shop-services/${SERVICE}/src/main.ts"]
