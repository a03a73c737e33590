-- Loads the journeys and their conversation points from fixtures/journeys/*.json. Generated: edit the JSON, then run `cargo xtask fixtures`.
-- squash: keep
--
-- Upserts by slug and by (journey, point id), so loading twice changes nothing.

-- Journey early-prostate-cancer-management
INSERT INTO journeys_journey (slug, title, description, options, onboarding_questions)
VALUES (
    'early-prostate-cancer-management',
    'Managing early-stage prostate cancer',
    'Weigh the options for low- or favourable intermediate-risk prostate cancer that has not spread: monitoring the cancer closely, surgery, or radiotherapy, and how each may affect urinary, sexual and bowel function.',
    '[
  {
    "id": "active-surveillance",
    "label": "Active surveillance",
    "summary": "Regular PSA blood tests, MRI scans and repeat biopsies, with treatment offered if the cancer shows signs of growing. It avoids or delays treatment side effects; some people later move on to treatment."
  },
  {
    "id": "radical-prostatectomy",
    "label": "Surgery (radical prostatectomy)",
    "summary": "An operation to remove the prostate, usually keyhole or robot-assisted. Urinary leakage is common at first and usually improves; erection problems are common and may be long-lasting."
  },
  {
    "id": "external-radiotherapy",
    "label": "External beam radiotherapy",
    "summary": "Daily radiation treatment over several weeks, sometimes with hormone therapy. It can affect the bowel and bladder, and erection problems may develop gradually over the following years."
  },
  {
    "id": "brachytherapy",
    "label": "Brachytherapy",
    "summary": "Radioactive seeds placed inside the prostate, usually in a single procedure. Urinary symptoms are common in the first months; it is not suitable for everyone, for example with a large prostate."
  }
]'::jsonb,
    '[
  {
    "id": "risk-group",
    "prompt": "Which risk group did your care team say your cancer is in?",
    "kind": "choice",
    "choices": [
      "Low risk",
      "Favourable intermediate risk",
      "Intermediate risk",
      "Not sure"
    ]
  },
  {
    "id": "urinary-symptoms",
    "prompt": "Do you have urinary symptoms now, such as going often, urgency or a weak stream?",
    "kind": "choice",
    "choices": [
      "No",
      "Mild",
      "Moderate",
      "Severe"
    ]
  },
  {
    "id": "sexual-function-importance",
    "prompt": "How important is keeping your current sexual function to you (0 = not important, 10 = extremely important)?",
    "kind": "scale"
  },
  {
    "id": "decision-partner",
    "prompt": "Who else, if anyone, would you like to involve in this decision?",
    "kind": "text"
  }
]'::jsonb
)
ON CONFLICT (slug) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    options = EXCLUDED.options,
    onboarding_questions = EXCLUDED.onboarding_questions,
    updated_at = now()
WHERE (journeys_journey.title, journeys_journey.description, journeys_journey.options, journeys_journey.onboarding_questions)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.options, EXCLUDED.onboarding_questions);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'understanding-diagnosis', 'Understanding the diagnosis', 'What the PSA, biopsy grade and risk group mean for how quickly this cancer is likely to grow.', '["psa","gleason","grade group","biopsy","risk group","slow growing"]'::jsonb, 1
FROM journeys_journey WHERE slug = 'early-prostate-cancer-management'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'living-with-monitoring', 'Living with monitoring', 'How the person feels about regular tests and about living with a cancer that is not being treated right away.', '["surveillance","monitoring","regular tests","repeat biopsy","mri","watch"]'::jsonb, 2
FROM journeys_journey WHERE slug = 'early-prostate-cancer-management'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'urinary-effects', 'Urinary side effects', 'Current bladder symptoms and how leakage or urinary irritation after treatment would affect daily life.', '["urinary","leak","incontinence","bladder","pads","toilet"]'::jsonb, 3
FROM journeys_journey WHERE slug = 'early-prostate-cancer-management'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'sexual-effects', 'Sexual side effects', 'How important erections and sexual activity are, and what support exists if they change.', '["erection","sexual","sex life","intimacy","impotence"]'::jsonb, 4
FROM journeys_journey WHERE slug = 'early-prostate-cancer-management'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'bowel-effects', 'Bowel side effects', 'How bowel urgency or bleeding, more common after radiotherapy, would affect daily life.', '["bowel","rectum","diarrhoea","diarrhea","bleeding"]'::jsonb, 5
FROM journeys_journey WHERE slug = 'early-prostate-cancer-management'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'worry-and-uncertainty', 'Worry and uncertainty', 'How much uncertainty the person can live with and what would give peace of mind.', '["worry","anxious","anxiety","uncertain","peace of mind","scared"]'::jsonb, 6
FROM journeys_journey WHERE slug = 'early-prostate-cancer-management'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'support-and-practicalities', 'Support and practicalities', 'Who is involved in the decision, and practical matters such as work, travel to treatment and time off.', '["partner","wife","husband","family","work","travel"]'::jsonb, 7
FROM journeys_journey WHERE slug = 'early-prostate-cancer-management'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

-- Journey knee-osteoarthritis-treatment
INSERT INTO journeys_journey (slug, title, description, options, onboarding_questions)
VALUES (
    'knee-osteoarthritis-treatment',
    'Treatment choices for knee osteoarthritis',
    'Compare the main ways to manage knee osteoarthritis, from exercise and medicines to joint injections and knee replacement, and work out which fits your pain, your activities and your priorities.',
    '[
  {
    "id": "exercise-physio",
    "label": "Exercise therapy and physiotherapy",
    "summary": "A structured programme of strengthening and range-of-motion exercises, often with weight management. Recommended for everyone with knee osteoarthritis; benefits build over 6 to 12 weeks and last while the exercise continues."
  },
  {
    "id": "pain-medicines",
    "label": "Pain medicines",
    "summary": "Topical or oral anti-inflammatory medicines (NSAIDs), sometimes paracetamol, taken for flare-ups or regularly. They ease pain but do not change the joint; oral NSAIDs carry stomach, kidney and heart risks, especially with long use."
  },
  {
    "id": "steroid-injection",
    "label": "Corticosteroid injection",
    "summary": "An injection into the knee joint that can reduce pain for a few weeks to a few months. It is usually limited to a few injections a year, and relief varies from person to person."
  },
  {
    "id": "knee-replacement",
    "label": "Total knee replacement",
    "summary": "Surgery that replaces the worn joint surfaces with an implant. Most people have less pain and better function afterwards; recovery takes several months of rehabilitation, and there are risks such as infection, blood clots and ongoing stiffness."
  }
]'::jsonb,
    '[
  {
    "id": "pain-level",
    "prompt": "Over the past week, how bad has your knee pain been on average (0 = no pain, 10 = worst imaginable)?",
    "kind": "scale"
  },
  {
    "id": "hardest-activity",
    "prompt": "Which everyday activity does your knee make hardest?",
    "kind": "choice",
    "choices": [
      "Walking",
      "Stairs",
      "Sleeping",
      "Work",
      "Sport or exercise",
      "Something else"
    ]
  },
  {
    "id": "treatments-tried",
    "prompt": "Which treatments have you already tried for your knee?",
    "kind": "choice",
    "choices": [
      "None yet",
      "Exercise or physiotherapy",
      "Pain medicines",
      "Injections",
      "Several of these"
    ]
  },
  {
    "id": "main-goal",
    "prompt": "What would you most like to be able to do again, or keep doing?",
    "kind": "text"
  }
]'::jsonb
)
ON CONFLICT (slug) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    options = EXCLUDED.options,
    onboarding_questions = EXCLUDED.onboarding_questions,
    updated_at = now()
WHERE (journeys_journey.title, journeys_journey.description, journeys_journey.options, journeys_journey.onboarding_questions)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.options, EXCLUDED.onboarding_questions);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'pain-goals', 'Pain and personal goals', 'How the knee affects daily life and what the person most wants treatment to achieve.', '["goal","want to be able","walk","stairs","garden","keep working"]'::jsonb, 1
FROM journeys_journey WHERE slug = 'knee-osteoarthritis-treatment'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'treatments-tried', 'What has been tried so far', 'Previous treatments, how long they were tried and how well they worked.', '["tried","physio","painkiller","ibuprofen","paracetamol","injection"]'::jsonb, 2
FROM journeys_journey WHERE slug = 'knee-osteoarthritis-treatment'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'exercise-commitment', 'Time and energy for exercise', 'Whether a regular exercise programme is realistic and what would help keep it going.', '["exercise","strength","programme","gym","motivation","time for"]'::jsonb, 3
FROM journeys_journey WHERE slug = 'knee-osteoarthritis-treatment'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'medicine-side-effects', 'Medicines and side effects', 'Other health conditions and medicines that affect the safety of anti-inflammatory medicines.', '["side effect","stomach","kidney","blood pressure","nsaid","other medicines"]'::jsonb, 4
FROM journeys_journey WHERE slug = 'knee-osteoarthritis-treatment'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'surgery-recovery', 'Surgery risks and recovery', 'Views on an operation, the recovery period and the risks of knee replacement.', '["surgery","operation","replacement","recovery","rehab","infection"]'::jsonb, 5
FROM journeys_journey WHERE slug = 'knee-osteoarthritis-treatment'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'support-at-home', 'Support at home', 'Who can help during a flare-up or after surgery, and practical limits such as driving or caring for others.', '["support","family","help at home","live alone","carer","drive"]'::jsonb, 6
FROM journeys_journey WHERE slug = 'knee-osteoarthritis-treatment'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

-- Journey type-2-diabetes-second-line
INSERT INTO journeys_journey (slug, title, description, options, onboarding_questions)
VALUES (
    'type-2-diabetes-second-line',
    'Adding a second medicine for type 2 diabetes',
    'When metformin alone no longer keeps blood glucose at target, compare the common add-on medicines by their effect on glucose, weight, heart and kidney health, side effects, how they are taken and cost.',
    '[
  {
    "id": "sglt2-inhibitor",
    "label": "SGLT2 inhibitor (for example empagliflozin or dapagliflozin)",
    "summary": "A daily tablet that makes the kidneys pass more glucose in the urine. It lowers the risk of heart failure and slows kidney disease, with modest weight loss; genital yeast infections are the most common side effect."
  },
  {
    "id": "glp1-receptor-agonist",
    "label": "GLP-1 receptor agonist (for example semaglutide or dulaglutide)",
    "summary": "Usually a weekly injection (one form is a daily tablet). It lowers glucose well, often leads to meaningful weight loss and lowers the risk of heart attack and stroke in people with heart disease; nausea is common at first."
  },
  {
    "id": "dpp4-inhibitor",
    "label": "DPP-4 inhibitor (for example sitagliptin)",
    "summary": "A daily tablet with few side effects and a low risk of low blood sugar. It lowers glucose moderately, does not change weight and has no proven heart or kidney benefit."
  },
  {
    "id": "sulfonylurea",
    "label": "Sulfonylurea (for example gliclazide)",
    "summary": "A low-cost daily tablet that lowers glucose quickly. It can cause low blood sugar (hypoglycaemia) and some weight gain."
  }
]'::jsonb,
    '[
  {
    "id": "latest-hba1c",
    "prompt": "What was your most recent HbA1c result?",
    "kind": "choice",
    "choices": [
      "Below 53 mmol/mol (7%)",
      "53 to 64 mmol/mol (7 to 8%)",
      "Above 64 mmol/mol (8%)",
      "I don''t know"
    ]
  },
  {
    "id": "heart-kidney-conditions",
    "prompt": "Have you been told you have heart disease, heart failure or kidney disease?",
    "kind": "choice",
    "choices": [
      "Heart disease",
      "Heart failure",
      "Kidney disease",
      "More than one of these",
      "None of these",
      "Not sure"
    ]
  },
  {
    "id": "injection-comfort",
    "prompt": "How comfortable would you be giving yourself an injection once a week (0 = not at all, 10 = completely)?",
    "kind": "scale"
  },
  {
    "id": "weight-priority",
    "prompt": "Is losing weight one of your goals?",
    "kind": "choice",
    "choices": [
      "Yes, a main goal",
      "Somewhat",
      "No"
    ]
  },
  {
    "id": "other-concerns",
    "prompt": "Is there anything else that matters to you in choosing a medicine, such as cost or past side effects?",
    "kind": "text"
  }
]'::jsonb
)
ON CONFLICT (slug) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    options = EXCLUDED.options,
    onboarding_questions = EXCLUDED.onboarding_questions,
    updated_at = now()
WHERE (journeys_journey.title, journeys_journey.description, journeys_journey.options, journeys_journey.onboarding_questions)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.options, EXCLUDED.onboarding_questions);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'glucose-goals', 'Glucose targets', 'The current HbA1c, the personal target agreed with the care team and how far off it is.', '["hba1c","a1c","blood sugar","glucose","target"]'::jsonb, 1
FROM journeys_journey WHERE slug = 'type-2-diabetes-second-line'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'heart-kidney-protection', 'Heart and kidney protection', 'Existing heart or kidney conditions and how much protecting them matters in the choice.', '["heart","kidney","heart failure","stroke","cardiovascular"]'::jsonb, 2
FROM journeys_journey WHERE slug = 'type-2-diabetes-second-line'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'weight-effects', 'Effects on weight', 'Whether weight loss is a goal and how each medicine tends to change weight.', '["weight","lose weight","appetite","gain weight"]'::jsonb, 3
FROM journeys_journey WHERE slug = 'type-2-diabetes-second-line'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'hypoglycaemia-risk', 'Risk of low blood sugar', 'Past hypos, driving or work that makes low blood sugar risky, and the medicines that cause it.', '["hypo","low blood sugar","shaky","driving","faint"]'::jsonb, 4
FROM journeys_journey WHERE slug = 'type-2-diabetes-second-line'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'tablets-or-injections', 'Tablets or injections', 'How the person feels about weekly injections compared with daily tablets.', '["injection","needle","tablet","pill","weekly"]'::jsonb, 5
FROM journeys_journey WHERE slug = 'type-2-diabetes-second-line'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'side-effects', 'Side effects', 'Which side effects would be hardest to live with, such as nausea or genital infections.', '["side effect","nausea","sick","thrush","infection","stomach"]'::jsonb, 6
FROM journeys_journey WHERE slug = 'type-2-diabetes-second-line'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);

INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)
SELECT id, 'cost-and-access', 'Cost and access', 'Prescription costs, insurance coverage and supply issues that could affect taking the medicine regularly.', '["cost","afford","insurance","price","pharmacy","prescription"]'::jsonb, 7
FROM journeys_journey WHERE slug = 'type-2-diabetes-second-line'
ON CONFLICT (journey_id, point_id) DO UPDATE SET
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    covered_when = EXCLUDED.covered_when,
    sort_order = EXCLUDED.sort_order
WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)
    IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order);
