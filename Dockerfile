# syntax=docker/dockerfile:1

# Node 24, the current LTS (Node 20 reached its end of life in April 2026); package.json
# "engines" lists every version the service supports.
# ---- build: install everything, compile, then drop the dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# The lockfile alone decides the dependencies; this layer is reused until it changes.
COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json ./
COPY src ./src
COPY db ./db
COPY jobs ./jobs
# tests/ and bench/ are left out: tsc compiles only what the service runs.
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: compiled code, production dependencies, migrations; runs as `node` ----
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000

# Owned by root and read-only to the process; only var/ (MAIL_DIR's default var/mail) is writable.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/db ./dist/db
COPY --from=build /app/dist/jobs ./dist/jobs
# db/migrate.ts looks in dist/db/migrations, then ../../db/migrations from dist/db: /app/db/migrations.
COPY --from=build /app/db/migrations ./db/migrations
RUN mkdir -p /app/var && chown node:node /app/var

USER node
EXPOSE 3000

# Only meaningful for roles that serve HTTP (api, all); compose disables it for workers.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["node", "dist/src/server.js"]
CMD ["--role", "all"]
