-- The 2022–2026 classification (Decree 07/2021, Rules/vn-mdp/2022-2026-nd07, rule set
-- vn-mdp-2022@1.1.0) written as one DuckDB query over the two survey CSVs: what a data engineer
-- would write instead of povrules. Same columns and row order as `povrules classify` (one row per
-- household, d_<indicator> 0/1), so the two outputs can be compared byte for byte.
--
-- The harness (bench/run.sh) substitutes @HOUSEHOLDS@, @MEMBERS@ and @OUT@. It covers what the
-- generated surveys contain: contract headers and codes, ISO dates, birth years read as 1 July,
-- the schema's defaults; it does not validate rows (povrules does, and rejects bad ones).
--
-- Parameters are those in force in 2022–2026; the retirement ages follow the reference year
-- (Decree 135/2020, Rules/vn-mdp/common/retirement-age.yaml).

CREATE OR REPLACE MACRO cmonths(b, r) AS
    (year(r) - year(b)) * 12 + (month(r) - month(b))
    - CASE WHEN day(r) < least(day(b), day(last_day(r))) THEN 1 ELSE 0 END;
-- Completed months from a to r, negative (at most -1) when a is after r.
CREATE OR REPLACE MACRO smonths(a, r) AS
    CASE WHEN a <= r THEN cmonths(a, r) ELSE -cmonths(r, a) - 1 END;
CREATE OR REPLACE MACRO cyears(b, r) AS cmonths(b, r) // 12;

COPY (
WITH h AS (
    SELECT *, CAST(review_date AS DATE) AS ref
    FROM read_csv('@HOUSEHOLDS@', header = true, all_varchar = true)
),
m AS (
    SELECT m.household_id, m.sex, m.employment, m.education, m.school_level,
           coalesce(m.disability, 'none') AS disability,
           coalesce(m.social_allowance, 'false') = 'true' AS social_allowance,
           m.health_insurance = 'true' AS health_insurance,
           m.in_school = 'true' AS in_school,
           m.stunted = 'true' AS stunted,
           m.underweight = 'true' AS underweight,
           cmonths(CASE WHEN length(m.birth_date) = 4 THEN make_date(CAST(m.birth_date AS INTEGER), 7, 1)
                        ELSE CAST(m.birth_date AS DATE) END, h.ref) AS age_months,
           h.ref
    FROM read_csv('@MEMBERS@', header = true, all_varchar = true) m
    JOIN h USING (household_id)
),
mm AS (
    SELECT *, age_months // 12 AS age,
           CASE WHEN ref >= DATE '2028-01-01' THEN 744 WHEN ref >= DATE '2027-01-01' THEN 741
                WHEN ref >= DATE '2026-01-01' THEN 738 WHEN ref >= DATE '2025-01-01' THEN 735
                WHEN ref >= DATE '2024-01-01' THEN 732 WHEN ref >= DATE '2023-01-01' THEN 729 ELSE 726 END AS retire_male,
           CASE WHEN ref >= DATE '2028-01-01' THEN 692 WHEN ref >= DATE '2027-01-01' THEN 688
                WHEN ref >= DATE '2026-01-01' THEN 684 WHEN ref >= DATE '2025-01-01' THEN 680
                WHEN ref >= DATE '2024-01-01' THEN 676 WHEN ref >= DATE '2023-01-01' THEN 672 ELSE 668 END AS retire_female
    FROM m
),
per_member AS (
    SELECT household_id,
           age >= 15 AND age_months < (CASE WHEN sex = 'male' THEN retire_male ELSE retire_female END) AS working_age,
           age < 16 AS child,
           age < 16 OR (social_allowance AND (age >= 60 OR disability <> 'none')) AS dependant,
           *
    FROM mm
),
agg AS (
    SELECT household_id,
           count(*) AS n,
           bool_or(working_age AND employment IN ('unemployed', 'wage_without_contract')) AS employment,
           sum(CASE WHEN dependant THEN 1 ELSE 0 END) / count(*) > 0.5 AS dependants,
           bool_or(child AND (stunted OR underweight)) AS nutrition,
           bool_or(age >= 6 AND NOT health_insurance) AS health_insurance,
           bool_or(age >= 16 AND age <= 30 AND NOT in_school AND NOT (CASE WHEN age < 18
                    THEN education IN ('lower_secondary', 'upper_secondary', 'vocational_elementary', 'vocational_intermediate', 'college', 'university')
                    ELSE education IN ('upper_secondary', 'vocational_elementary', 'vocational_intermediate', 'college', 'university') END))
               AS adult_education,
           bool_or(age >= 3 AND child AND (NOT in_school OR
               CASE WHEN age >= 11 THEN school_level NOT IN ('lower_secondary', 'upper_secondary', 'vocational', 'higher')
                    WHEN age >= 6 THEN school_level NOT IN ('primary', 'lower_secondary', 'upper_secondary', 'vocational', 'higher')
                    ELSE false END)) AS child_schooling
    FROM per_member
    GROUP BY household_id
),
hh AS (
    SELECT h.household_id, h.village, h.area, h.ref,
           CAST(h.income_per_capita AS DOUBLE) AS income, CAST(h.score_a AS DOUBLE) AS score_a,
           CASE WHEN h.area = 'urban' THEN 2000000 ELSE 1500000 END AS income_line,
           CASE WHEN h.area = 'urban' THEN 175 ELSE 140 END AS score_a_line,
           CASE WHEN h.area = 'urban' THEN 3000000 ELSE 2250000 END AS average_upper,
           h.prior_status, CAST(h.status_changed_on AS DATE) AS status_changed_on,
           a.employment, a.dependants, a.nutrition, a.health_insurance, a.adult_education, a.child_schooling,
           h.dwelling = 'none' OR ((CASE WHEN h.foundation_durable = 'true' THEN 0 ELSE 1 END)
                                  + (CASE WHEN h.walls_durable = 'true' THEN 0 ELSE 1 END)
                                  + (CASE WHEN h.roof_durable = 'true' THEN 0 ELSE 1 END)) >= 2 AS housing_quality,
           h.dwelling = 'none' OR CAST(h.floor_area_m2 AS DOUBLE) < 8.0 * a.n AS housing_area,
           h.water_source NOT IN ('piped', 'borehole', 'protected_dug_well', 'protected_spring', 'rainwater', 'bottled', 'vendor') AS water,
           h.latrine NOT IN ('flush_septic', 'semi_septic', 'double_vault', 'ventilated_pit', 'biogas') AS sanitation,
           h.internet <> 'true' AS telecom,
           NOT coalesce(list_has_any(string_split(h.devices, ';'), ['tv', 'radio', 'desktop', 'laptop', 'tablet', 'smartphone']), false)
               AND h.hears_loudspeaker <> 'true' AS information_access
    FROM h JOIN agg a USING (household_id)
),
scored AS (
    SELECT *,
           CASE WHEN score_a IS NOT NULL THEN score_a <= score_a_line ELSE income <= income_line END AS below,
           CAST(employment AS INT) + CAST(dependants AS INT) + CAST(nutrition AS INT) + CAST(health_insurance AS INT)
           + CAST(adult_education AS INT) + CAST(child_schooling AS INT) + CAST(housing_quality AS INT)
           + CAST(housing_area AS INT) + CAST(water AS INT) + CAST(sanitation AS INT) + CAST(telecom AS INT)
           + CAST(information_access AS INT) AS deprivations
    FROM hh
),
classed AS (
    SELECT *,
           CASE WHEN below AND deprivations >= 3 THEN 'poor'
                WHEN below THEN 'near_poor'
                WHEN income IS NULL THEN 'undetermined'
                WHEN income <= average_upper THEN 'average'
                ELSE 'other' END AS status
    FROM scored
)
SELECT household_id, village, area, status, deprivations AS deprivation_count,
       CAST(below AS INT) AS income_below_line,
       CAST(employment AS INT) AS d_employment, CAST(dependants AS INT) AS d_dependants,
       CAST(nutrition AS INT) AS d_nutrition, CAST(health_insurance AS INT) AS d_health_insurance,
       CAST(adult_education AS INT) AS d_adult_education, CAST(child_schooling AS INT) AS d_child_schooling,
       CAST(housing_quality AS INT) AS d_housing_quality, CAST(housing_area AS INT) AS d_housing_area,
       CAST(water AS INT) AS d_water, CAST(sanitation AS INT) AS d_sanitation, CAST(telecom AS INT) AS d_telecom,
       CAST(information_access AS INT) AS d_information_access,
       CAST(coalesce(prior_status IN ('poor', 'near_poor') AND status_changed_on IS NOT NULL
            AND smonths(status_changed_on, ref) >= 0 AND smonths(status_changed_on, ref) < 36
            AND status NOT IN ('poor', 'near_poor'), false) AS INT) AS newly_escaped,
       'vn-mdp-2022@1.1.0' AS ruleset
FROM classed
ORDER BY household_id
) TO '@OUT@' (HEADER, DELIMITER ',', QUOTE '"');
