//! Plays a DGX-Pixels walk sheet: `generate-sheet` + `deploy_asset`.
//!
//! A deployed animation sheet is three files in `assets/generated/`: `<name>.png`, the
//! sheet (one row per direction, one column per frame); `<name>.json`, its Aseprite atlas;
//! and `<name>.bevy.json`, written for exactly this code (`"type": "dgxp_bevy_atlas"`):
//! the arguments of `TextureAtlasLayout::from_grid`, every animation as an inclusive range
//! of atlas indices with its frame time, and the frames' common pivot (their feet) as a
//! sprite anchor. `from_grid` numbers cells left to right, top to bottom, which is the
//! order the sheet's frames are packed in, so `first..=last` are atlas indices as is.
//!
//! The arrow keys pick the direction (`walk_down`, `walk_left`, `walk_right`, `walk_up`);
//! the character keeps its feet on one spot whichever frame is shown.

use bevy::prelude::*;
use bevy::sprite::Anchor;
use serde::Deserialize;

/// How much the character is scaled up on screen.
const SCALE: f32 = 4.0;

/// Loads `assets/generated/<name>.bevy.json` and its sheet at start-up and plays it.
pub struct WalkAnimationPlugin {
    /// The deployed asset name (`deploy_asset ... name`), without extension.
    pub name: String,
}

impl Plugin for WalkAnimationPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(SheetName(self.name.clone()))
            .add_systems(Startup, spawn_walker)
            .add_systems(Update, (choose_direction, play_animation).chain());
    }
}

#[derive(Resource)]
struct SheetName(String);

/// The Bevy atlas JSON of an animation sheet (`comfy_nodes/pixel/bevy_atlas.py`).
#[derive(Deserialize)]
struct BevyAtlas {
    #[serde(rename = "type")]
    kind: String,
    image: String,
    tile_size: [u32; 2],
    columns: u32,
    rows: u32,
    padding: [u32; 2],
    offset: [u32; 2],
    frame_count: usize,
    /// The feet pivot in `Anchor::Custom` units: tile centre 0, edges ±0.5, y up.
    anchor: [f32; 2],
    animations: Vec<AnimationRange>,
}

/// One animation: atlas indices `first..=last`, shown `frame_ms` each.
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct AnimationRange {
    pub name: String,
    pub first: usize,
    pub last: usize,
    pub frame_ms: u64,
    /// `forward`, `reverse` or `pingpong`, as Aseprite's tags.
    pub direction: String,
}

impl AnimationRange {
    /// The atlas index shown at `step` (0, 1, 2, ...) of a looping animation.
    pub fn index_at(&self, step: usize) -> usize {
        let len = self.last - self.first + 1;
        match self.direction.as_str() {
            "reverse" => self.last - step % len,
            // there and back without showing either end twice: 0 1 2 3 2 1 0 1 ...
            "pingpong" if len > 1 => {
                let at = step % (2 * len - 2);
                self.first + if at < len { at } else { 2 * len - 2 - at }
            }
            _ => self.first + step % len,
        }
    }
}

/// The walking character: its animations, the one playing, and its clock.
#[derive(Component)]
pub struct Walker {
    animations: Vec<AnimationRange>,
    playing: usize,
    step: usize,
    timer: Timer,
}

impl Walker {
    fn start(&mut self, playing: usize) {
        self.playing = playing;
        self.step = 0;
        let ms = self.animations[playing].frame_ms.max(1);
        self.timer = Timer::from_seconds(ms as f32 / 1000.0, TimerMode::Repeating);
    }
}

fn read_atlas(name: &str) -> Option<BevyAtlas> {
    let path = format!("{}/assets/generated/{name}.bevy.json", env!("CARGO_MANIFEST_DIR"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => {
            info!("no walk sheet at {path} ({err}); deploy one with `deploy_asset`");
            return None;
        }
    };
    match serde_json::from_str::<BevyAtlas>(&text) {
        Ok(atlas) if atlas.kind == "dgxp_bevy_atlas" && !atlas.animations.is_empty() => {
            Some(atlas)
        }
        Ok(atlas) => {
            warn!("{path} is a {:?} file with no animations to play", atlas.kind);
            None
        }
        Err(err) => {
            warn!("{path} is not a dgxp_bevy_atlas: {err}");
            None
        }
    }
}

fn spawn_walker(
    mut commands: Commands,
    name: Res<SheetName>,
    asset_server: Res<AssetServer>,
    mut layouts: ResMut<Assets<TextureAtlasLayout>>,
) {
    let Some(atlas) = read_atlas(&name.0) else {
        return;
    };
    let layout = layouts.add(TextureAtlasLayout::from_grid(
        UVec2::from_array(atlas.tile_size),
        atlas.columns,
        atlas.rows,
        Some(UVec2::from_array(atlas.padding)),
        Some(UVec2::from_array(atlas.offset)),
    ));
    // The sheet sits next to the JSON; `image` names it (the deploy points it there).
    let image: Handle<Image> = asset_server.load(format!("generated/{}", atlas.image));
    let first = atlas.animations[0].first;
    let mut walker = Walker {
        animations: atlas.animations,
        playing: 0,
        step: 0,
        timer: Timer::default(),
    };
    walker.start(0);
    commands.spawn((
        Name::new(format!("walk sheet {}", name.0)),
        Sprite {
            image,
            texture_atlas: Some(TextureAtlas { layout, index: first }),
            // Feet on the entity's position, whichever frame is shown.
            anchor: Anchor::Custom(Vec2::from_array(atlas.anchor)),
            ..default()
        },
        // Upper right, clear of the sprite grid of main.rs.
        Transform::from_xyz(360.0, 160.0, 1.0).with_scale(Vec3::new(SCALE, SCALE, 1.0)),
        walker,
    ));
    info!(
        "walk sheet generated/{} ({} frames); arrow keys choose the direction",
        atlas.image, atlas.frame_count
    );
}

/// Arrow keys switch to the animation named `*_down`, `*_left`, `*_right` or `*_up`.
fn choose_direction(keys: Res<ButtonInput<KeyCode>>, mut walkers: Query<&mut Walker>) {
    let wanted = [
        (KeyCode::ArrowDown, "_down"),
        (KeyCode::ArrowLeft, "_left"),
        (KeyCode::ArrowRight, "_right"),
        (KeyCode::ArrowUp, "_up"),
    ]
    .into_iter()
    .find(|(key, _)| keys.just_pressed(*key))
    .map(|(_, suffix)| suffix);
    let Some(suffix) = wanted else {
        return;
    };
    for mut walker in &mut walkers {
        let found = walker.animations.iter().position(|a| a.name.ends_with(suffix));
        if let Some(playing) = found {
            walker.start(playing);
        }
    }
}

/// Advances each walker one frame per `frame_ms` and shows that atlas index.
fn play_animation(time: Res<Time>, mut walkers: Query<(&mut Walker, &mut Sprite)>) {
    for (mut walker, mut sprite) in &mut walkers {
        walker.timer.tick(time.delta());
        let steps = walker.timer.times_finished_this_tick() as usize;
        walker.step += steps;
        let index = walker.animations[walker.playing].index_at(walker.step);
        if let Some(atlas) = sprite.texture_atlas.as_mut() {
            atlas.index = index;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AnimationRange;

    fn range(direction: &str) -> AnimationRange {
        AnimationRange {
            name: "walk_left".into(),
            first: 4,
            last: 7,
            frame_ms: 150,
            direction: direction.into(),
        }
    }

    #[test]
    fn indices_loop_in_each_direction() {
        let shown = |d: &str| (0..8).map(|s| range(d).index_at(s)).collect::<Vec<_>>();
        assert_eq!(shown("forward"), [4, 5, 6, 7, 4, 5, 6, 7]);
        assert_eq!(shown("reverse"), [7, 6, 5, 4, 7, 6, 5, 4]);
        assert_eq!(shown("pingpong"), [4, 5, 6, 7, 6, 5, 4, 5]);
    }
}
