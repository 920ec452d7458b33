package azul;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.join.ParentJoinPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Runs a single OpenSearch node in this JVM, for tests and local development.
 *
 * <p>Usage: {@code java -cp 'target/classes:target/lib/*' azul.OpenSearchNode
 * [--port 9200] [--data-dir DIR] [--cluster-name NAME] [--exit-on-stdin-close]}
 *
 * <p>Once the node accepts HTTP requests, a single line
 * {@code OpenSearch started at http://127.0.0.1:PORT} is printed to stdout
 * (with the actually bound port, so {@code --port 0} works too). The node is
 * closed cleanly on SIGTERM/SIGINT and, with {@code --exit-on-stdin-close},
 * when standard input reaches EOF, i.e. when the parent process that holds
 * the other end of the pipe goes away, however it died.
 */
public final class OpenSearchNode {

    public static final String READY_PREFIX = "OpenSearch started at ";

    private static final class EmbeddedNode extends Node {

        /**
         * The modules of the official distribution that we run with. They are
         * loaded as classpath plugins, which skips the on-disk plugin scan (and
         * its jar hell check) that the public {@link Node} constructor does.
         */
        static final List<Class<? extends Plugin>> MODULES = List.of(
            Netty4Plugin.class,          // HTTP and transport layer
            CommonAnalysisPlugin.class,  // analyzers, tokenizers, token & char filters
            MapperExtrasPlugin.class,    // scaled_float, token_count, rank_feature(s), search_as_you_type
            ParentJoinPlugin.class,      // join field, has_child/has_parent, children agg
            ReindexPlugin.class,         // _reindex, _update_by_query, _delete_by_query
            PainlessPlugin.class         // scripting
        );

        /**
         * Azul's own aggregations (src/main/java/azul/facets), if they are on
         * the classpath, as they are in this build. Without them there, a
         * node loads them as any other node would, from the plugin zip
         * (scripts/opensearch/plugin.py) unpacked in its home's plugins/,
         * which is how a test checks that zip.
         */
        static final String AZUL_PLUGIN = "azul.facets.FacetCountsPlugin";

        static List<Class<? extends Plugin>> plugins() {
            List<Class<? extends Plugin>> plugins = new ArrayList<>(MODULES);
            try {
                plugins.add(Class.forName(AZUL_PLUGIN).asSubclass(Plugin.class));
            } catch (ClassNotFoundException e) {
                // Not on the classpath: from plugins/, if installed there
            }
            return plugins;
        }

        EmbeddedNode(Environment environment) {
            super(environment, plugins(), true);
        }
    }

    private static void usage(PrintStream out) {
        out.println("Usage: azul.OpenSearchNode [--port PORT] [--data-dir DIR]"
                    + " [--cluster-name NAME] [--exit-on-stdin-close]");
    }

    public static void main(String[] args) {
        int port = 9200;
        Path dir = Paths.get("target", "opensearch");
        String clusterName = "azul-opensearch";
        boolean exitOnStdinClose = false;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--port":
                        port = Integer.parseInt(args[++i]);
                        break;
                    case "--data-dir":
                        dir = Paths.get(args[++i]);
                        break;
                    case "--cluster-name":
                        clusterName = args[++i];
                        break;
                    case "--exit-on-stdin-close":
                        exitOnStdinClose = true;
                        break;
                    case "-h":
                    case "--help":
                        usage(System.out);
                        return;
                    default:
                        throw new IllegalArgumentException("Unknown argument: " + args[i]);
                }
            }
        } catch (RuntimeException e) {
            System.err.println(e instanceof ArrayIndexOutOfBoundsException ? "Missing argument value" : e.getMessage());
            usage(System.err);
            System.exit(2);
        }
        final Path home = dir.toAbsolutePath().normalize();
        final Path logs = home.resolve("logs");
        try {
            Files.createDirectories(home.resolve("data"));
            Files.createDirectories(home.resolve("config"));
            Files.createDirectories(logs);
        } catch (IOException e) {
            System.err.println("Cannot create node directories under " + home + ": " + e);
            System.exit(1);
        }
        // Must be set before the first Logger is created, i.e. before any
        // OpenSearch class is initialized; read by log4j2.xml
        System.setProperty("azul.opensearch.logs", logs.toString());
        start(home, logs, port, clusterName, exitOnStdinClose);
    }

    private static void start(Path home, Path logs, int port, String clusterName, boolean exitOnStdinClose) {
        final Logger log = LogManager.getLogger(OpenSearchNode.class);
        final Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", clusterName)
            .put("node.name", "azul-opensearch-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            // Transport is only used node-internally; any free port will do
            .put("transport.port", 0)
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("discovery.type", "single-node")
            // A nearly full disk (e.g. on CI) must not make indices read-only
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        final Node node;
        try {
            Environment environment = InternalSettingsPreparer.prepareEnvironment(
                settings, Collections.emptyMap(), home.resolve("config"), () -> "azul-opensearch-node");
            node = new EmbeddedNode(environment);
        } catch (Throwable e) {
            log.fatal("Failed to create OpenSearch node", e);
            System.err.println("Failed to create OpenSearch node: " + e);
            e.printStackTrace();
            System.exit(1);
            return;
        }
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("Stopping OpenSearch node");
            try {
                node.close();
                if (!node.awaitClose(20, TimeUnit.SECONDS)) {
                    log.warn("Timed out waiting for the node to close");
                }
            } catch (Throwable e) {
                log.warn("Failed to close node cleanly", e);
            }
            log.info("OpenSearch node stopped");
            org.apache.logging.log4j.core.config.Configurator.shutdown(
                (org.apache.logging.log4j.core.LoggerContext) LogManager.getContext(false));
            stopped.countDown();
        }, "azul-opensearch-shutdown"));
        if (exitOnStdinClose) {
            Thread watchdog = new Thread(() -> {
                try {
                    InputStream in = System.in;
                    byte[] buffer = new byte[256];
                    while (in.read(buffer) != -1) {
                        // Ignore anything written to us, we only care about EOF
                    }
                } catch (IOException e) {
                    // Treat a broken stdin like EOF
                }
                log.info("Standard input closed, the parent process is gone; shutting down");
                System.exit(0);
            }, "azul-opensearch-stdin-watchdog");
            watchdog.setDaemon(true);
            watchdog.start();
        }
        try {
            node.start();
        } catch (Throwable e) {
            log.fatal("Failed to start OpenSearch node", e);
            System.err.println("Failed to start OpenSearch node: " + e);
            e.printStackTrace();
            System.exit(1);
            return;
        }
        TransportAddress address = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        String url = "http://" + address.getAddress() + ":" + address.getPort();
        System.out.println(READY_PREFIX + url);
        System.out.flush();
        log.info(READY_PREFIX + url);
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

}
