package azul.facets;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;

/**
 * One figure of an {@code azul_summary}: the sum of a number field's values
 * ({@code {"sum": F}}), the number of a field's distinct values
 * ({@code {"cardinality": F}}), or the documents per value of a field
 * ({@code {"terms": F, "sums": [...], "distinct": [...], "include": [...]}})
 * with, per value, the sums of other fields and their distinct values, of
 * only the {@code include}d terms if given.
 */
final class SummaryPart {

    enum Kind {
        SUM, CARDINALITY, TERMS;

        String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    final Kind kind;
    final String field;
    final List<String> sums;
    final List<String> distinct;
    // Null: every term
    final List<String> include;

    SummaryPart(Kind kind, String field, List<String> sums, List<String> distinct, List<String> include) {
        this.kind = kind;
        this.field = field;
        this.sums = List.copyOf(sums);
        this.distinct = List.copyOf(distinct);
        this.include = include == null ? null : List.copyOf(include);
    }

    SummaryPart(StreamInput in) throws IOException {
        kind = in.readEnum(Kind.class);
        field = in.readString();
        sums = in.readStringList();
        distinct = in.readStringList();
        include = in.readBoolean() ? in.readStringList() : null;
    }

    void writeTo(StreamOutput out) throws IOException {
        out.writeEnum(kind);
        out.writeString(field);
        out.writeStringCollection(sums);
        out.writeStringCollection(distinct);
        out.writeBoolean(include != null);
        if (include != null) {
            out.writeStringCollection(include);
        }
    }

    /** The part of that name from its parsed JSON; the problem, if any, named. */
    static SummaryPart parse(String name, Object json) {
        if (!(json instanceof Map)) {
            throw problem(name, "is an object");
        }
        Map<?, ?> body = (Map<?, ?>) json;
        Kind kind = null;
        for (Kind candidate : Kind.values()) {
            if (body.containsKey(candidate.key())) {
                if (kind != null) {
                    throw problem(name, "takes one of [sum], [cardinality] and [terms]");
                }
                kind = candidate;
            }
        }
        if (kind == null) {
            throw problem(name, "needs one of [sum], [cardinality] and [terms]");
        }
        for (Object key : body.keySet()) {
            boolean known = key.equals(kind.key())
                            || kind == Kind.TERMS && List.of("sums", "distinct", "include").contains(key);
            if (!known) {
                throw problem(name, "of [" + kind.key() + "] takes no [" + key + "]");
            }
        }
        Object field = body.get(kind.key());
        if (!(field instanceof String)) {
            throw problem(name, "names its field as a string in [" + kind.key() + "]");
        }
        return new SummaryPart(kind, (String) field, strings(name, body, "sums"), strings(name, body, "distinct"),
                               body.containsKey("include") ? strings(name, body, "include") : null);
    }

    private static List<String> strings(String name, Map<?, ?> body, String key) {
        Object value = body.get(key);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List)) {
            throw problem(name, "lists strings in [" + key + "]");
        }
        List<String> result = new ArrayList<>();
        for (Object item : (List<?>) value) {
            if (!(item instanceof String)) {
                throw problem(name, "lists strings in [" + key + "]");
            }
            result.add((String) item);
        }
        return result;
    }

    private static IllegalArgumentException problem(String name, String what) {
        return new IllegalArgumentException("[" + SummaryBuilder.NAME + "] part [" + name + "] " + what);
    }

    /** Every field the part reads. */
    List<String> fields() {
        List<String> fields = new ArrayList<>();
        fields.add(field);
        fields.addAll(sums);
        fields.addAll(distinct);
        return fields;
    }

    void toXContent(XContentBuilder builder) throws IOException {
        builder.startObject();
        builder.field(kind.key(), field);
        if (kind == Kind.TERMS) {
            builder.field("sums", sums);
            builder.field("distinct", distinct);
            if (include != null) {
                builder.field("include", include);
            }
        }
        builder.endObject();
    }

    @Override
    public boolean equals(Object obj) {
        if (!(obj instanceof SummaryPart)) {
            return false;
        }
        SummaryPart other = (SummaryPart) obj;
        return kind == other.kind && field.equals(other.field) && sums.equals(other.sums)
               && distinct.equals(other.distinct) && Objects.equals(include, other.include);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, field, sums, distinct, include);
    }
}
