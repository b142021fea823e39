# AkkaKube node image. Build: docker build -t akkakube-node .
# The build stage runs the same `dotnet publish src/Host -c Release -o /app` that
# tests/AkkaKube.Tests/Cli/PublishTests.cs runs (no Docker engine is needed to check it).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props AkkaKube.sln ./
COPY hocon/ hocon/
COPY src/ src/
RUN dotnet publish src/Host -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# iproute2: --pod-routes keeps the pod routes between the containers with `ip route` (docker-compose.yml).
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
# Containers are separate hosts: bind remoting/API/cmd on all interfaces, advertise the container name.
ENV AKKAKUBE_DATA_DIR=/data \
    AKKAKUBE_API_ADDRESS=0.0.0.0 \
    AKKAKUBE_API_PORT=6443 \
    AKKAKUBE_CMD_PORT=9110 \
    AKKAKUBE_PORT=4053
VOLUME ["/data"]
EXPOSE 4053 6443 9110
ENTRYPOINT ["/app/akkakube-node"]
