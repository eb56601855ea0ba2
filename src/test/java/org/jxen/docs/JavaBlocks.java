package org.jxen.docs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.StandardLocation;
import javax.tools.ToolProvider;
import org.jxen.cli.JxenCommand;

/**
 * A document's {@code ```java} blocks compiled in memory with javax.tools against the test class path, and run.
 * A block that declares a top-level type (or a package) is a compilation unit and is compiled as written (one
 * without import or package lines gets the snippets' imports, below, on its first line); any other block is a
 * snippet of statements, compiled as the body of {@code static void run() throws Throwable} in
 * a class of its own, with the snippet's leading {@code import} lines as its imports plus on-demand imports of
 * java.io, java.nio.file, java.util, java.util.concurrent, java.util.function and every package of jxen's main
 * code (so a snippet need not name the packages, and keeps compiling when classes move). The blocks of one
 * document form one compilation, so classes of one block are visible to the others; a {@code group NAME}
 * directive puts a block into a compilation of its own with the other blocks of that group.
 */
final class JavaBlocks {
    private static final Pattern TYPE_DECL = Pattern.compile("^(?:@[\\w.]+(?:\\([^)]*\\))?\\s+)*"
            + "(?:(?:public|protected|private|abstract|static|final|sealed|non-sealed|strictfp)\\s+)*"
            + "(?:class|interface|enum|record|@interface)\\s+(\\w+)");
    private static final Pattern PUBLIC_TYPE = Pattern.compile("^(?:@[\\w.]+(?:\\([^)]*\\))?\\s+)*public\\s+"
            + "(?:(?:abstract|static|final|sealed|non-sealed|strictfp)\\s+)*"
            + "(?:class|interface|enum|record|@interface)\\s+(\\w+)");
    private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+)\\s*;");
    private static final Pattern IMPORT = Pattern.compile("^import\\s+(static\\s+)?[\\w.]+(\\.\\*)?\\s*;\\s*(//.*)?$");
    private static final List<String> JDK_IMPORTS = List.of("java.io", "java.nio.file", "java.util",
            "java.util.concurrent", "java.util.function");

    /**
     * One block as the compiler sees it.
     *
     * @param className  the binary name of its class (a snippet's generated class; a unit's first type)
     * @param docLineOf  for each line of {@code source} (0-based), the document line it came from (0: generated)
     */
    record Unit(DocBlocks.Block block, String group, boolean snippet, String className, String source, int[] docLineOf) {
        int docLine(int sourceLine) {
            return sourceLine >= 1 && sourceLine <= docLineOf.length && docLineOf[sourceLine - 1] > 0
                    ? docLineOf[sourceLine - 1] : block.fenceLine();
        }

        boolean runnable() {
            return !block.directives().containsKey("compile-only");
        }
    }

    /** The compiled blocks of one document: each unit, and the class loader of its group. */
    record Compiled(List<Unit> units, Map<String, ClassLoader> loaders) {}

    private JavaBlocks() {}

    /** Cuts the document's java blocks into units; {@code rewrite} is applied to each block's text (paths). */
    static List<Unit> units(DocBlocks doc, UnaryOperator<String> rewrite) {
        List<Unit> units = new ArrayList<>();
        for (DocBlocks.Block b : doc.java()) {
            String group = b.directives().getOrDefault("group", "");
            List<String> lines = rewrite.apply(b.text()).lines().toList();
            String type = null;
            String pkg = null;
            String publicType = null;
            for (String l : lines) {
                Matcher p = PACKAGE.matcher(l);
                if (p.find() && pkg == null) pkg = p.group(1);
                Matcher t = TYPE_DECL.matcher(l);
                if (t.find() && type == null) type = t.group(1);
                Matcher pt = PUBLIC_TYPE.matcher(l);
                if (pt.find() && publicType == null) publicType = pt.group(1);
            }
            if (type != null || pkg != null) {
                int[] map = new int[lines.size()];
                for (int i = 0; i < map.length; i++) map[i] = b.docLine(i);
                String simple = publicType != null ? publicType : type != null ? type : "package-info";
                String src = String.join("\n", lines) + "\n";
                // A class shown without its imports gets the snippets' ones, on its first line (so lines keep
                // their numbers).
                boolean imports = lines.stream().anyMatch(l -> IMPORT.matcher(l.strip()).matches());
                if (pkg == null && !imports) src = autoImports() + src;
                units.add(new Unit(b, group, false, pkg == null ? simple : pkg + "." + simple, src, map));
            } else {
                units.add(snippet(b, group, lines));
            }
        }
        return units;
    }

    private static Unit snippet(DocBlocks.Block b, String group, List<String> lines) {
        String cls = "DocSnippet_" + b.doc().replaceAll("[^A-Za-z0-9]", "_") + "_L" + b.fenceLine();
        StringBuilder src = new StringBuilder();
        List<Integer> map = new ArrayList<>();
        src.append(autoImports()).append('\n');
        map.add(0);
        int i = 0;
        while (i < lines.size() && (lines.get(i).isBlank() || IMPORT.matcher(lines.get(i).strip()).matches())) {
            src.append(lines.get(i)).append('\n');
            map.add(b.docLine(i));
            i++;
        }
        src.append("final class ").append(cls).append(" { static void run() throws Throwable {\n");
        map.add(0);
        for (; i < lines.size(); i++) {
            src.append(lines.get(i)).append('\n');
            map.add(b.docLine(i));
        }
        src.append("}}\n");
        map.add(0);
        return new Unit(b, group, true, cls, src.toString(), map.stream().mapToInt(Integer::intValue).toArray());
    }

    /** On-demand imports of the common JDK packages and every jxen package, on one line. */
    static String autoImports() {
        StringBuilder auto = new StringBuilder();
        for (String p : JDK_IMPORTS) auto.append("import ").append(p).append(".*; ");
        for (String p : jxenPackages()) auto.append("import ").append(p).append(".*; ");
        return auto.toString();
    }

    /** Every package of jxen's main code (found in the directory or jar that holds JxenCommand). */
    static List<String> jxenPackages() {
        Path root;
        try {
            root = Path.of(JxenCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        if (!Files.isDirectory(root)) throw new IllegalStateException("jxen's classes are not in a directory: " + root);
        TreeSet<String> pkgs = new TreeSet<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(f -> f.toString().endsWith(".class") && !f.getFileName().toString().contains("$")
                            && !f.getFileName().toString().startsWith("package-info"))
                    .forEach(f -> pkgs.add(root.relativize(f.getParent()).toString().replace('/', '.')));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.copyOf(pkgs);
    }

    /**
     * Compiles every group of {@code units}; all errors of all groups are reported together, each as
     * {@code DOC:LINE: message} with the offending document line.
     */
    static Compiled compile(List<Unit> units) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) throw new IllegalStateException("no system Java compiler: the tests need a JDK, not a JRE");
        Map<String, List<Unit>> groups = new LinkedHashMap<>();
        for (Unit u : units) groups.computeIfAbsent(u.group(), g -> new ArrayList<>()).add(u);
        Map<String, ClassLoader> loaders = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        for (var e : groups.entrySet()) {
            Map<String, byte[]> classes = new LinkedHashMap<>();
            DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
            List<Source> sources = e.getValue().stream().map(Source::new).toList();
            try (StandardJavaFileManager std = javac.getStandardFileManager(diags, Locale.ROOT, StandardCharsets.UTF_8);
                 MemoryManager fm = new MemoryManager(std, classes)) {
                List<String> options = List.of("-classpath", System.getProperty("java.class.path"), "-proc:none",
                        "-implicit:none", "-encoding", "UTF-8");
                boolean ok = javac.getTask(null, fm, diags, options, null, sources).call();
                for (Diagnostic<? extends JavaFileObject> d : diags.getDiagnostics()) {
                    if (d.getKind() == Diagnostic.Kind.ERROR) errors.add(describe(d));
                }
                if (!ok && errors.isEmpty()) errors.add("the compiler failed without a diagnostic");
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            loaders.put(e.getKey(), new MemoryLoader(classes, JavaBlocks.class.getClassLoader()));
        }
        if (!errors.isEmpty()) {
            throw new AssertionError("java blocks do not compile:\n" + String.join("\n", errors));
        }
        return new Compiled(units, loaders);
    }

    private static String describe(Diagnostic<? extends JavaFileObject> d) {
        if (!(d.getSource() instanceof Source s)) return d.getMessage(Locale.ROOT);
        Unit u = s.unit;
        int line = (int) d.getLineNumber();
        int docLine = u.docLine(line);
        String where = u.block().doc() + ":" + docLine;
        String message = d.getMessage(Locale.ROOT);
        if (u.snippet()) message = message.replace(u.className(), "<the snippet at " + u.block().where() + ">");
        StringBuilder sb = new StringBuilder(where).append(": error: ").append(message);
        String text = docText(u, docLine);
        if (!text.isBlank()) sb.append("\n    ").append(text.strip());
        sb.append("\n    (in the ```java block at ").append(u.block().where());
        if (!u.block().heading().isEmpty()) sb.append(", section \"").append(u.block().heading()).append('"');
        sb.append(u.snippet() ? ", compiled as a snippet of statements)" : ", compiled as a compilation unit)");
        return sb.toString();
    }

    /**
     * Runs a unit: a snippet's {@code run()}, or a unit's {@code public static void main(String[])}; false if it
     * has nothing to run. A failure is reported with the document lines of the stack.
     */
    static boolean run(Compiled c, Unit u, long timeoutSeconds) throws Exception {
        Class<?> cls = Class.forName(u.className(), true, c.loaders().get(u.group()));
        Method m;
        if (u.snippet()) {
            m = cls.getDeclaredMethod("run");
        } else {
            try {
                m = cls.getDeclaredMethod("main", String[].class);
            } catch (NoSuchMethodException e) {
                return false;
            }
            if (!Modifier.isStatic(m.getModifiers())) return false;
        }
        m.setAccessible(true);
        Method method = m;
        Throwable[] failure = new Throwable[1];
        Thread t = Thread.ofPlatform().name("doc-block-" + u.block().fenceLine()).start(() -> {
            try {
                if (u.snippet()) method.invoke(null);
                else method.invoke(null, (Object) new String[0]);
            } catch (InvocationTargetException e) {
                failure[0] = e.getCause();
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        if (!t.join(java.time.Duration.ofSeconds(timeoutSeconds))) {
            t.interrupt();
            throw new AssertionError(u.block().where() + ": the ```java block did not finish within "
                    + timeoutSeconds + " s; it is at:" + docStack(u, t.getStackTrace()));
        }
        if (failure[0] != null) {
            Throwable f = failure[0];
            String first = firstDocLine(u, f.getStackTrace());
            throw new AssertionError((first != null ? first : u.block().where()) + ": the ```java block at "
                    + u.block().where() + " threw " + f + docStack(u, f.getStackTrace()), f);
        }
        return true;
    }

    /** The document's own text of {@code docLine} if it is a line of the unit's block, else "". */
    private static String docText(Unit u, int docLine) {
        int i = docLine - u.block().fenceLine() - 1;
        return i >= 0 && i < u.block().lines().size() ? u.block().lines().get(i) : "";
    }

    private static boolean ours(Unit u, StackTraceElement e) {
        return e.getClassName().equals(u.className()) || e.getClassName().startsWith(u.className() + "$");
    }

    private static String firstDocLine(Unit u, StackTraceElement[] stack) {
        for (StackTraceElement e : stack) if (ours(u, e)) return u.block().doc() + ":" + u.docLine(e.getLineNumber());
        return null;
    }

    private static String docStack(Unit u, StackTraceElement[] stack) {
        StringBuilder sb = new StringBuilder();
        for (StackTraceElement e : stack) {
            if (ours(u, e)) {
                int line = u.docLine(e.getLineNumber());
                sb.append("\n    at ").append(u.block().doc()).append(':').append(line).append("    ")
                        .append(docText(u, line).strip());
            } else if (!e.getClassName().startsWith("java.lang.reflect") && !e.getClassName().startsWith("jdk.internal")) {
                sb.append("\n    at ").append(e);
            }
            boolean entry = e.getMethodName().equals("run") || e.getMethodName().equals("main");
            if (e.getClassName().equals(u.className()) && entry) break;
        }
        return sb.toString();
    }

    /**
     * While open, what any thread prints on System.out is also kept here (a watch callback prints from the
     * client's thread, possibly after the block has returned); closing puts the original System.out back.
     */
    static final class CapturedOut implements AutoCloseable {
        private final PrintStream original = System.out;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

        CapturedOut() {
            OutputStream tee = new OutputStream() {
                @Override
                public void write(int b) {
                    synchronized (buffer) {
                        buffer.write(b);
                    }
                    original.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    synchronized (buffer) {
                        buffer.write(b, off, len);
                    }
                    original.write(b, off, len);
                }

                @Override
                public void flush() {
                    original.flush();
                }
            };
            System.setOut(new PrintStream(tee, true, StandardCharsets.UTF_8));
        }

        String text() {
            synchronized (buffer) {
                return buffer.toString(StandardCharsets.UTF_8);
            }
        }

        @Override
        public void close() {
            System.out.flush();
            System.setOut(original);
        }
    }

    /** Polls {@code check} until it passes or {@code seconds} have gone by; then its last failure is thrown. */
    static void eventually(long seconds, ThrowingRunnable check) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            try {
                check.run();
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() > end) throw e;
                Thread.sleep(20);
            }
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static final class Source extends SimpleJavaFileObject {
        final Unit unit;

        Source(Unit unit) {
            super(uri(unit), Kind.SOURCE);
            this.unit = unit;
        }

        private static URI uri(Unit u) {
            return URI.create("string:///" + u.className().replace('.', '/') + Kind.SOURCE.extension);
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return unit.source();
        }
    }

    private static final class MemoryManager extends ForwardingJavaFileManager<StandardJavaFileManager> {
        private final Map<String, byte[]> classes;

        MemoryManager(StandardJavaFileManager m, Map<String, byte[]> classes) {
            super(m);
            this.classes = classes;
        }

        @Override
        public JavaFileObject getJavaFileForOutput(Location location, String className, JavaFileObject.Kind kind,
                                                   FileObject sibling) {
            if (location != StandardLocation.CLASS_OUTPUT) throw new IllegalArgumentException(location.getName());
            return new SimpleJavaFileObject(URI.create("mem:///" + className.replace('.', '/') + kind.extension), kind) {
                @Override
                public OutputStream openOutputStream() {
                    return new ByteArrayOutputStream() {
                        @Override
                        public void close() {
                            classes.put(className, toByteArray());
                        }
                    };
                }
            };
        }
    }

    private static final class MemoryLoader extends ClassLoader {
        private final Map<String, byte[]> classes;

        MemoryLoader(Map<String, byte[]> classes, ClassLoader parent) {
            super("doc-blocks", parent);
            this.classes = classes;
        }

        @Override
        protected Class<?> findClass(String name) throws ClassNotFoundException {
            byte[] b = classes.get(name);
            if (b == null) throw new ClassNotFoundException(name);
            return defineClass(name, b, 0, b.length);
        }
    }
}
