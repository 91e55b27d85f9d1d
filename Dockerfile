# The FlashTix images, every stage from flashtix/debian:12 (deploy/build-base-image.sh makes it with
# debootstrap; no registry is needed) and Debian 12's own packages, the same as ./flashtix installs.
# docker-compose.yml builds each target: service (the four services and the init container), postgres,
# rabbitmq, haproxy. Nothing secret is in any of them: the init container makes the secrets per install.

# The build: the service binaries, Release, as ./flashtix builds them, without the tests.
FROM flashtix/debian:12 AS build
RUN apt-get update \
 && apt-get install -y g++ cmake ninja-build pkg-config libboost1.81-dev libboost-json1.81-dev \
      libboost-url1.81-dev libpq-dev libssl-dev librabbitmq-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY db db
COPY src src
# The image's context has no repository: the commit that --version reports comes from here.
ARG FLASHTIX_COMMIT=unknown
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLASHTIX_TESTS=OFF \
      "-DFLASHTIX_COMMIT=${FLASHTIX_COMMIT}" >/dev/null \
 && cmake --build build --target flashtix-inventory flashtix-orders flashtix-payments flashtix-notifications \
 && strip build/bin/flashtix-*

# The four services (one binary each, chosen by the container's command) and the init container that
# makes the secrets: the binaries' run-time libraries, the system's trust store for https:// webhooks, and
# ./flashtix, embedded/ and access/ for the secrets' recipe.
FROM flashtix/debian:12 AS service
RUN apt-get update \
 && apt-get install -y libboost-json1.81.0 libboost-url1.81.0 libpq5 libssl3 librabbitmq4 libprometheus-cpp-core1.0 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 flashtix \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin flashtix
COPY --from=build /src/build/bin/flashtix-inventory /src/build/bin/flashtix-orders /src/build/bin/flashtix-payments \
     /src/build/bin/flashtix-notifications /usr/local/bin/
COPY flashtix /usr/local/share/flashtix/
COPY access /usr/local/share/flashtix/access
COPY embedded /usr/local/share/flashtix/embedded
COPY deploy/container/service-entrypoint deploy/container/init-secrets deploy/container/probe \
     /usr/local/share/flashtix/deploy/container/
# In a container a service listens on its network, not on loopback alone.
ENV FLASHTIX_LISTEN_ADDRESS=0.0.0.0
USER flashtix
ENTRYPOINT ["/usr/local/share/flashtix/deploy/container/service-entrypoint"]

# PostgreSQL 15, without the cluster Debian's package would make: the entrypoint makes its own, in the
# volume, with flashuser and its password. The seed container runs from this image too, for its psql.
FROM flashtix/debian:12 AS postgres
RUN mkdir -p /etc/postgresql-common \
 && printf 'create_main_cluster = false\n' >/etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY flashtix /usr/local/share/flashtix/
COPY access /usr/local/share/flashtix/access
COPY embedded /usr/local/share/flashtix/embedded
COPY deploy/container/postgres-entrypoint deploy/container/seed /usr/local/share/flashtix/deploy/container/
# psql in a `docker exec` is PostgreSQL 15's own, and finds the server on its default socket.
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
# SIGINT is PostgreSQL's fast shutdown; on SIGTERM it would wait for every service to disconnect.
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/share/flashtix/deploy/container/postgres-entrypoint"]

# RabbitMQ, its Erlang distribution and epmd on the container's loopback only, as ./flashtix runs its node.
FROM flashtix/debian:12 AS rabbitmq
RUN apt-get update \
 && apt-get install -y rabbitmq-server \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/container/rabbitmq-entrypoint deploy/container/probe /usr/local/share/flashtix/deploy/container/
ENV RABBITMQ_NODENAME=rabbit@localhost \
    RABBITMQ_CONFIG_FILE=/run/flashtix-rabbitmq/rabbitmq.conf \
    RABBITMQ_ENABLED_PLUGINS_FILE=/run/flashtix-rabbitmq/enabled_plugins \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    ERL_EPMD_ADDRESS=127.0.0.1
ENTRYPOINT ["/usr/local/share/flashtix/deploy/container/rabbitmq-entrypoint"]

# HAProxy in front of the replicas of inventory and orders (deploy/haproxy.cfg).
FROM flashtix/debian:12 AS haproxy
RUN apt-get update \
 && apt-get install -y haproxy \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/haproxy.cfg /etc/haproxy/haproxy.cfg
COPY deploy/container/probe /usr/local/share/flashtix/deploy/container/
USER haproxy
# SIGUSR1: HAProxy's soft stop, which lets the requests in flight finish.
STOPSIGNAL SIGUSR1
ENTRYPOINT ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
